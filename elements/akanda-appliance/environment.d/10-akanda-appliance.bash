export DIB_CLOUD_INIT_DATASOURCES=${DIB_CLOUD_INIT_DATASOURCES:-"ConfigDrive, NoCloud"}
export DIB_AKANDA_HOSTNAME=${DIB_AKANDA_HOSTNAME:-akanda-router}
export DIB_AKANDA_AGENT_SERVICES=${DIB_AKANDA_AGENT_SERVICES:-"dnsmasq keepalived conntrackd bird"}
# Elements whose package-installs.yaml declares what the appliance needs;
# the slim element keeps their packages and uses its appliance policy.
export DIB_SLIM_APPLIANCE_ELEMENTS="${DIB_SLIM_APPLIANCE_ELEMENTS:-} akanda-appliance"
