"""A small Wan 2.1 image-to-video model trained here, on procedural clips (``devkit/clips.py``): a VAE and a DiT in
the real file formats that ComfyUI's own ``VAELoader`` and ``UNETLoader`` read.

It is a yardstick, not a substitute for Wan: it has learned what moving discs, squares and rings on quiet
backgrounds do (they persist, keep their colour and size, move along smooth paths at the training clips' speeds),
so it shows what the pack's instructions do to a prior that has learned something, and the demo renders with it
on any machine in a minute. It knows no text (it was trained on random text embeddings, so any CONDITIONING does)
and nothing of the real world.

- ``config``: the sizes, seeds and file names, one place.
- ``vae_init``: the hand-set start that makes the VAE learn fast on 2 cores.
- ``train``: the whole training, seeded, resumable (``scripts/train_tiny_wan.py`` runs it).
- ``files``: the two committed files and how to load them.
"""
