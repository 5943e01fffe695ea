export DIB_SLIM_KERNEL=${DIB_SLIM_KERNEL:-cloud}
export DIB_SLIM_POLICY=${DIB_SLIM_POLICY:-}
export DIB_SLIM_KEEP=${DIB_SLIM_KEEP:-}
export DIB_SLIM_REMOVE=${DIB_SLIM_REMOVE:-}
export DIB_SLIM_DRY_RUN=${DIB_SLIM_DRY_RUN:-0}
export DIB_SLIM_MAX_SIZE=${DIB_SLIM_MAX_SIZE:-}
export DIB_SLIM_LOCALES=${DIB_SLIM_LOCALES:-"en en_US C.UTF-8"}
export DIB_SLIM_LOCALE_GEN=${DIB_SLIM_LOCALE_GEN-}
export DIB_SLIM_PYCACHE=${DIB_SLIM_PYCACHE:-imported}
export DIB_SLIM_UDEV_HWDB=${DIB_SLIM_UDEV_HWDB:-remove}
export DIB_SLIM_INITRAMFS_MODULES=${DIB_SLIM_INITRAMFS_MODULES-"virtio_pci virtio_blk virtio_scsi sd_mod ata_piix ahci xen-blkfront"}
export DIB_SLIM_KERNEL_MODULES_EXCLUDE=${DIB_SLIM_KERNEL_MODULES_EXCLUDE-"fs/bcachefs fs/btrfs fs/xfs fs/smb fs/nfs fs/nfsd fs/ceph fs/ntfs3 fs/ocfs2 fs/gfs2 fs/jfs fs/f2fs fs/nilfs2 fs/orangefs drivers/infiniband drivers/comedi drivers/target drivers/md arch/x86/kvm net/ceph net/sunrpc net/tipc net/smc net/rds net/sctp net/dccp net/openvswitch"}
export DIB_SLIM_MASK_UNITS=${DIB_SLIM_MASK_UNITS-"systemd-ssh-generator systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount e2scrub_reap.service"}
export DIB_SLIM_PERL_MODULES=${DIB_SLIM_PERL_MODULES:-build-only}
export DIB_SLIM_CLOUD_INIT_MODULES_DROP=${DIB_SLIM_CLOUD_INIT_MODULES_DROP-"snap ssh_import_id keyboard byobu grub_dpkg apt_pipelining apt_configure disable_ec2_metadata locale fan landscape lxd puppet chef mcollective salt_minion reset_rmc install_hotplug rsyslog disk_setup mounts ca_certs ubuntu_pro ubuntu_autoinstall ubuntu_drivers"}
export DIB_SLIM_SSH_HOST_KEY_TYPES=${DIB_SLIM_SSH_HOST_KEY_TYPES-ed25519}
export DIB_SLIM_PYCACHE_IMPORTS=${DIB_SLIM_PYCACHE_IMPORTS-"cloudinit.cmd.main cloud-init-config cloudinit.distros.debian cloudinit.net.* cloudinit.handlers.* flask gunicorn.app.wsgiapp gunicorn.workers.* netaddr eventlet dogpile.cache eventlet.wsgi oslo_rootwrap.cmd oslo_rootwrap.client oslo_rootwrap.daemon jinja2 requests pbr.version werkzeug.exceptions werkzeug.wrappers"}
export DIB_SLIM_GCONV=${DIB_SLIM_GCONV:-remove}
export DIB_SLIM_IEEE_DATA=${DIB_SLIM_IEEE_DATA:-remove}
export DIB_SLIM_GROWROOT=${DIB_SLIM_GROWROOT:-cloud-init}
export DIB_SLIM_MACHINE_ID=${DIB_SLIM_MACHINE_ID:-empty}
export DIB_SLIM_INITRAMFS_COMPRESS=${DIB_SLIM_INITRAMFS_COMPRESS-xz}
export DIB_SLIM_INITRAMFS_COMPRESSLEVEL=${DIB_SLIM_INITRAMFS_COMPRESSLEVEL-2e}
export DIB_SLIM_ZRAM_SWAP=${DIB_SLIM_ZRAM_SWAP-150}
export DIB_SLIM_ZRAM_SWAP_BELOW=${DIB_SLIM_ZRAM_SWAP_BELOW-512}
export DIB_SLIM_SWAP_FILE=${DIB_SLIM_SWAP_FILE-64}
export DIB_SLIM_SWAP_FILE_BELOW=${DIB_SLIM_SWAP_FILE_BELOW:-64}
export DIB_SLIM_BOOT_FILES=${DIB_SLIM_BOOT_FILES:-auto}
export DIB_SLIM_TRANSPARENT_HUGEPAGE=${DIB_SLIM_TRANSPARENT_HUGEPAGE-never}
export DIB_SLIM_KERNEL_MODULES_KEEP=${DIB_SLIM_KERNEL_MODULES_KEEP-"net/ drivers/net/bonding/ drivers/net/team/ drivers/net/vxlan/ drivers/net/wireguard/ drivers/net/ipvlan/ drivers/net/hyperv/ drivers/net/vmxnet3/ drivers/net/virtio_net drivers/net/net_failover drivers/net/tun drivers/net/tap drivers/net/veth drivers/net/dummy drivers/net/macvlan drivers/net/macvtap drivers/net/geneve drivers/net/vrf drivers/net/ifb drivers/net/xen-netfront drivers/net/gtp drivers/net/bareudp drivers/net/nlmon drivers/virtio/ drivers/block/virtio_blk drivers/block/xen-blkfront drivers/block/zram/ drivers/scsi/scsi_mod drivers/scsi/scsi_common drivers/scsi/sd_mod drivers/scsi/sr_mod drivers/scsi/sg drivers/scsi/virtio_scsi drivers/scsi/hv_storvsc drivers/scsi/scsi_transport_fc drivers/scsi/vmw_pvscsi drivers/scsi/xen-scsifront drivers/ata/ drivers/nvme/ drivers/cdrom/ drivers/char/ drivers/hv/ drivers/xen/ drivers/input/ drivers/ptp/ drivers/pci/ drivers/acpi/ drivers/platform/ drivers/virt/ drivers/watchdog/ fs/isofs/ fs/fat/ fs/vfat/ fs/nls/nls_utf8 fs/nls/nls_ascii fs/nls/nls_cp437 fs/nls/nls_iso8859-1. fs/nls/nls_ucs2_utils fs/overlayfs/ fs/fuse/ fs/autofs/ fs/efivarfs/ lib/ crypto/ arch/ block/ mm/ virt/"}
# tiny-initramfs mounts root=/dev/... and UUID=, not LABEL=: a whole-disk
# image (elements vm or bootloader, whose boot loader passes root=LABEL=)
# keeps initramfs-tools, and so does growing the root in the initramfs.
# The image boots through its own boot loader (elements vm or bootloader;
# assumed when the element list is unknown).
case " ${IMAGE_ELEMENT:-vm} " in
    *" vm "*|*" bootloader "*) DIB_SLIM_BOOT_LOADER=1 ;;
    *) DIB_SLIM_BOOT_LOADER=0 ;;
esac
export DIB_SLIM_BOOT_LOADER
export DIB_SLIM_INITRAMFS=${DIB_SLIM_INITRAMFS:-auto}
if [ "$DIB_SLIM_INITRAMFS" = auto ]; then
    if [ "$DIB_SLIM_BOOT_LOADER" = 1 ] \
        || [ "$DIB_SLIM_GROWROOT" = initramfs ]; then
        DIB_SLIM_INITRAMFS_TOOL=initramfs-tools
    else
        DIB_SLIM_INITRAMFS_TOOL=tiny
    fi
else
    DIB_SLIM_INITRAMFS_TOOL=$DIB_SLIM_INITRAMFS
fi
export DIB_SLIM_INITRAMFS_TOOL
