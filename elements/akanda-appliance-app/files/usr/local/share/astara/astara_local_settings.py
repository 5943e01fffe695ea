# The appliance's services (astara_router.settings reads this module).
ENABLED_SERVICES = ['router']
