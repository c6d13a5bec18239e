"""glTF 2.0 without Blender: one module per concern, shared by every reader and writer.

``types`` (component and accessor type tables), ``glb`` (the binary container), ``accessors``
(decoding and building accessors), ``read`` (parsing a file safely), ``scene`` (node transforms,
hierarchy, skinning), ``sampler`` (animation interpolation), ``repair`` (validate, repair and
flatten an import), ``write`` (re-emit a parsed document), ``character`` (write a rigged
character) and ``validate`` (the Khronos glTF-Validator). Only ``reskin.core``,
``reskin.assets.safe_io`` and ``reskin.assets.validation`` are imported from outside.
"""
