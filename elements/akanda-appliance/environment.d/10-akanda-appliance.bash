export DIB_CLOUD_INIT_DATASOURCES=${DIB_CLOUD_INIT_DATASOURCES:-"ConfigDrive, OpenStack, NoCloud"}
export DIB_AKANDA_HOSTNAME=${DIB_AKANDA_HOSTNAME:-akanda-router}
export DIB_AKANDA_AGENT_SERVICES=${DIB_AKANDA_AGENT_SERVICES:-"dnsmasq keepalived conntrackd bird"}
# Elements whose package-installs.yaml declares what the appliance needs;
# the slim element keeps their packages and uses its appliance policy.
export DIB_SLIM_APPLIANCE_ELEMENTS="${DIB_SLIM_APPLIANCE_ELEMENTS:-} akanda-appliance"
# eth0 is the management NIC, configured by DHCP; the agent configures the
# others, so they get no DHCP stanza that would stall the boot.
export DIB_NETWORK_INTERFACE_NAMES=${DIB_NETWORK_INTERFACE_NAMES:-eth0}
export DIB_BOOTLOADER_DEFAULT_CMDLINE=${DIB_BOOTLOADER_DEFAULT_CMDLINE:-"nofb nomodeset gfxpayload=text net.ifnames=0"}
