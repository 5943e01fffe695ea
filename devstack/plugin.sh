#!/bin/bash
# devstack plugin for akanda-slim: build the slim Akanda appliance image with
# `akanda-slim build` (the same entry point users run), upload it to Glance
# and point the router service at it. No build logic of its own: DIB_*
# variables and http_proxy/https_proxy/no_proxy reach the build through
# `sudo -E`.

function install_akanda_slim {
    setup_develop $AKANDA_SLIM_DIR
}

# The default release is akanda-slim's own, read from the installed
# command, so it is defined in one place.
function _akanda_slim_defaults {
    if [[ -z "$AKANDA_SLIM_RELEASE" ]]; then
        AKANDA_SLIM_RELEASE=$(akanda-slim dib-env | \
            sed -n 's/^export DIB_RELEASE=//p')
        [[ -n "$AKANDA_SLIM_RELEASE" ]] || \
            die $LINENO "akanda-slim dib-env named no DIB_RELEASE"
    fi
    AKANDA_SLIM_IMAGE_NAME=${AKANDA_SLIM_IMAGE_NAME:-akanda-slim-$AKANDA_SLIM_RELEASE}
}

function build_akanda_slim_image {
    mkdir -p $AKANDA_SLIM_OUTPUT_DIR
    echo "akanda-slim: building $AKANDA_SLIM_IMAGE_NAME" \
        "in $AKANDA_SLIM_OUTPUT_DIR"
    local agent="" args=""
    if [[ -n "$AKANDA_SLIM_AGENT_SOURCE" ]]; then
        agent="--agent-source $AKANDA_SLIM_AGENT_SOURCE"
    fi
    if [[ -n "$AKANDA_SLIM_AGENT_REF" ]]; then
        agent="$agent --agent-ref $AKANDA_SLIM_AGENT_REF"
    fi
    if [[ -n "$AKANDA_SLIM_DIB_ARGS" ]]; then
        args="-- $AKANDA_SLIM_DIB_ARGS"
    fi
    # shellcheck disable=SC2086
    sudo -E PATH=$PATH akanda-slim build $agent \
        --output-dir $AKANDA_SLIM_OUTPUT_DIR \
        --release $AKANDA_SLIM_RELEASE \
        --name $AKANDA_SLIM_IMAGE_NAME $args || \
        die $LINENO "akanda-slim build failed: see its output above"
}

# Prints the id of a new Glance image; arguments go to `image create`.
function _akanda_slim_glance_create {
    openstack image create -f value -c id "$@"
}

function upload_akanda_slim_image {
    local prefix=$AKANDA_SLIM_OUTPUT_DIR/$AKANDA_SLIM_IMAGE_NAME
    local report=$prefix.slim.json
    [[ -f $prefix.qcow2 ]] || die $LINENO "no image at $prefix.qcow2"
    local properties=(--property hw_vif_model=virtio
        --property hw_disk_bus=virtio --property os_distro=debian
        --property os_version=$AKANDA_SLIM_RELEASE)
    if [[ -f $report ]]; then
        local packages
        packages=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1])).get("packages", [])))' $report)
        properties+=(--property akanda_slim_packages=$packages)
    fi
    # A filesystem image (built without device-mapper) boots with the
    # kernel and initrd DIB wrote beside it.
    if [[ -f $prefix.vmlinuz && -f $prefix.initrd ]]; then
        local kernel_id ramdisk_id
        kernel_id=$(_akanda_slim_glance_create --public \
            --disk-format aki --container-format aki \
            --file $prefix.vmlinuz $AKANDA_SLIM_IMAGE_NAME-kernel)
        ramdisk_id=$(_akanda_slim_glance_create --public \
            --disk-format ari --container-format ari \
            --file $prefix.initrd $AKANDA_SLIM_IMAGE_NAME-initrd)
        properties+=(--property kernel_id=$kernel_id
            --property ramdisk_id=$ramdisk_id
            --property "os_command_line=$AKANDA_SLIM_KERNEL_ARGS")
    fi
    AKANDA_SLIM_IMAGE_ID=$(_akanda_slim_glance_create --public \
        --disk-format qcow2 --container-format bare "${properties[@]}" \
        --file $prefix.qcow2 $AKANDA_SLIM_IMAGE_NAME)
    [[ -n "$AKANDA_SLIM_IMAGE_ID" ]] || \
        die $LINENO "Glance returned no image id"
    echo "akanda-slim: uploaded $AKANDA_SLIM_IMAGE_NAME as $AKANDA_SLIM_IMAGE_ID"
}

function configure_akanda_slim_router {
    iniset $AKANDA_SLIM_ROUTER_CONF $AKANDA_SLIM_ROUTER_CONF_SECTION \
        $AKANDA_SLIM_ROUTER_CONF_OPTION $AKANDA_SLIM_IMAGE_ID
}

function cleanup_akanda_slim {
    sudo rm -rf $AKANDA_SLIM_OUTPUT_DIR
}

if is_service_enabled akanda-slim; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_akanda_slim
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        _akanda_slim_defaults
        build_akanda_slim_image
        upload_akanda_slim_image
        configure_akanda_slim_router
    fi
    if [[ "$1" == "clean" ]]; then
        cleanup_akanda_slim
    fi
fi
