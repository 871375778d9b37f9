"""Pre-labeling: the model registry, training and inference, and the RQ jobs that run them.

``prelabel.registry`` and this package import no torch; ``prelabel.detection`` and
``prelabel.jobs`` do, and only job code imports them.
"""
