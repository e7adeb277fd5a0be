"""One module per platform: its configuration model and its :class:`~..spec.PlatformSpec`.

These modules import no platform SDK (see :mod:`crosspost.platforms.spec`).
"""
