"""Generators (GenMix stage 1): one registry, one module per method, one shared fit loop.

``dcgan``, ``stylegan2``, ``textual-inversion``, ``ddpm`` — see ``base.GenerativeModel`` for the
interface, ``fit.train_generator`` / ``fit.load_generator`` and ``synthesize.synthesize``.
"""
