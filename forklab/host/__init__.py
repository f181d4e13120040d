"""The host's side of the container engine, in parts; ``forklab.engine`` puts them together.

``sandbox`` (what a lab container may do), ``discovery`` (where the engine
answers, and what to say when it does not), ``images`` (the build context,
the inputs hash, the offline base's recipe) and ``containers`` (the labels,
names and cancelled sessions every container of the kit shares, and the
engine's failures in one line).  Only ``forklab.engine`` and
``forklab.outside`` use them; everything else goes through ``forklab.engine``.
"""
