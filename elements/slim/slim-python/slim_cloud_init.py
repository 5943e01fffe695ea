"""cloud-init's module stages, and the slim element's override of them.

Run inside the image by post-install.d/70-slim-cloud-init-modules:
``python3 slim_cloud_init.py SOURCE TARGET MODULE...`` writes TARGET (a
cloud.cfg.d override) with SOURCE's module lists minus the MODULEs, and
prints what each stage dropped. ``STAGES`` is the one list of stages, read
by slim_pycache.py and by akanda_slim.dib.slim_element as well.
"""

import sys

STAGES = ('cloud_init_modules', 'cloud_config_modules',
          'cloud_final_modules')


def module_name(entry):
    """A module's name from a stage entry (a name or [name, frequency]).

    None for an entry that names no module.
    """
    if isinstance(entry, (list, tuple)):
        entry = entry[0] if entry else None
    if not isinstance(entry, str):
        return None
    return entry.replace('-', '_')


def drop_modules(config, drop):
    """({stage: kept entries}, {stage: dropped names}) of ``config``."""
    drop = {name.replace('-', '_') for name in drop}
    kept, gone = {}, {}
    for stage in STAGES:
        modules = config.get(stage) or []
        kept[stage] = [m for m in modules if module_name(m) not in drop]
        gone[stage] = [module_name(m) for m in modules
                       if module_name(m) in drop]
    return kept, gone


def main(argv):
    import yaml  # the image's own, as cloud-init's

    source, target, drop = argv[0], argv[1], argv[2:]
    with open(source) as text:
        config = yaml.safe_load(text) or {}
    kept, gone = drop_modules(config, drop)
    for stage in STAGES:
        print('%s: dropped %s' % (stage, ' '.join(gone[stage]) or '-'))
    with open(target, 'w') as out:
        out.write('# Written by the slim element '
                  '(DIB_SLIM_CLOUD_INIT_MODULES_DROP)\n')
        yaml.safe_dump(kept, out, default_flow_style=False)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
