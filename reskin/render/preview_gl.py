"""OpenGL drawing for the preview: moderngl on a headless EGL context, skinning on the GPU.

A shot uploads its static buffers once: per character the UVs, the faces and the texture; the
set (floor, wall, props) as one world-space buffer of vertex colours. A frame then skins each
character on the CPU (LBS with :class:`reskin.rigging.skinning_fast.Skinner`, positions and
normals, about a millisecond for 25k vertices) and writes its posed vertices and the camera.
llvmpipe runs vertex shaders on one thread and fragment shaders on all: skinning in the vertex
shader cost more than the kernel plus the upload, and lighting is per vertex (see _LIGHTING).
Colours follow pyrender's convention: textures are sRGB, lighting is linear, the output is
gamma-encoded (1/2.2).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Lighting per vertex (directional lights: exact on the set's flat quads, and on a
# character's small triangles at preview sizes indistinguishable from per pixel), so a
# fragment is one texture fetch and a multiply: llvmpipe's fragment stage is most of a frame.
_LIGHTING = """
uniform vec3 ambient;
uniform int n_lights;
uniform vec3 light_dir[8];  // towards the light, world space
uniform vec3 light_col[8];  // linear colour x intensity / pi (a Lambert BRDF)
vec3 light_at(vec3 normal) {
    vec3 n = normalize(normal);
    vec3 light = ambient;
    for (int i = 0; i < n_lights; ++i) light += light_col[i] * max(dot(n, light_dir[i]), 0.0);
    return light;
}
"""

# Posed positions and normals come skinned from the CPU (reskin.rigging.skinning_fast, one
# frame per call): llvmpipe runs vertex shaders on one thread, numba's kernel is cheaper.
_SKINNED_VS = """
#version 330
uniform mat4 view_proj;
uniform mat4 model;
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
out vec2 v_uv;
out vec3 v_light;
""" + _LIGHTING + """
void main() {
    // gamma(base x light) = gamma(base) x gamma(light) for an sRGB-ish base texel at
    // gamma 2.2: the fragment multiplies the texel by the light's 1/2.2 power.
    v_light = pow(light_at(mat3(model) * in_normal), vec3(1.0 / 2.2));
    v_uv = in_uv;
    gl_Position = view_proj * (model * vec4(in_pos, 1.0));
}
"""

_STATIC_VS = """
#version 330
uniform mat4 view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_color;
""" + _LIGHTING + """
void main() {
    v_color = pow(clamp(in_color * light_at(in_normal), 0.0, 1.0), vec3(1.0 / 2.2));
    gl_Position = view_proj * vec4(in_pos, 1.0);
}
"""

# pow(clamp(pow(t, 2.2) * L, 0, 1), 1 / 2.2) == min(t * pow(L, 1 / 2.2), 1) for t, L >= 0:
# pyrender's convention (sRGB texture, linear light, gamma-encoded output) without a pow.
_SKINNED_FS = """
#version 330
uniform sampler2D albedo;
in vec2 v_uv;
in vec3 v_light;
out vec4 frag;
void main() {
    frag = vec4(min(texture(albedo, v_uv).rgb * v_light, 1.0), 1.0);
}
"""

_STATIC_FS = """
#version 330
in vec3 v_color;
out vec4 frag;
void main() {
    frag = vec4(v_color, 1.0);
}
"""


def perspective(yfov: float, aspect: float, znear: float = 0.05, zfar: float = 100.0
                ) -> np.ndarray:
    """(4, 4) OpenGL projection (pyrender's PerspectiveCamera with a finite far plane)."""
    f = 1.0 / np.tan(yfov / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = f / aspect, f
    m[2, 2], m[2, 3] = (zfar + znear) / (znear - zfar), 2 * zfar * znear / (znear - zfar)
    m[3, 2] = -1.0
    return m


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n, 3) unit area-weighted vertex normals of a triangle mesh (n, 3), (m, 3)."""
    v = np.asarray(vertices, np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    out = np.zeros_like(v)
    for c in range(3):
        out[:, 0] += np.bincount(faces[:, c], fn[:, 0], len(v))
        out[:, 1] += np.bincount(faces[:, c], fn[:, 1], len(v))
        out[:, 2] += np.bincount(faces[:, c], fn[:, 2], len(v))
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class GLPreview:
    """A headless moderngl context with one colour + depth framebuffer of width x height."""

    def __init__(self, width: int, height: int, backend: str = "egl", samples: int = 0):
        import moderngl

        self.ctx = moderngl.create_context(standalone=True, backend=backend)
        self.width, self.height, self.backend = width, height, backend
        # Two targets: frame n+1 is skinned, vertex-shaded and binned into one while
        # llvmpipe's threads still rasterise frame n into the other (see draw_frames); the
        # 1x1 spare makes llvmpipe let go of a rasterised frame (see _read_after).
        self._targets = [self._target(samples) for _ in range(2)]
        self.fbo, self.resolved = self._targets[0]
        self._spare = self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer((1, 1), 4)])
        self.skinned = self.ctx.program(vertex_shader=_SKINNED_VS, fragment_shader=_SKINNED_FS)
        self.static = self.ctx.program(vertex_shader=_STATIC_VS, fragment_shader=_STATIC_FS)
        self._pixels = bytearray(width * height * 4)

    def _target(self, samples: int) -> tuple:
        """One (drawn, resolved) framebuffer pair: the same one without multisampling."""
        size = (self.width, self.height)
        if samples > 1:  # multisampled target, resolved into ``resolved`` per frame
            resolved = self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer(size, 4)])
            fbo = self.ctx.framebuffer(
                color_attachments=[self.ctx.renderbuffer(size, 4, samples=samples)],
                depth_attachment=self.ctx.depth_renderbuffer(size, samples=samples))
            return fbo, resolved
        fbo = self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer(size, 4)],
                                   depth_attachment=self.ctx.depth_renderbuffer(size))
        return fbo, fbo

    def release(self) -> None:
        self.ctx.release()

    def character(self, rest: np.ndarray, normals: np.ndarray, uv: np.ndarray,
                  joints: np.ndarray, weights: np.ndarray, faces: np.ndarray,
                  texture: np.ndarray, n_joints: int) -> GLCharacter:
        """Upload one character's static buffers (GLB vertices: rest (s, 3), normals (s, 3),
        uv (s, 2), joints/weights (s, k <= 8), faces (m, 3)) and its (h, w, 3) uint8 texture."""
        return GLCharacter(self, rest, normals, uv, joints, weights, faces, texture, n_joints)

    def static_mesh(self, positions: np.ndarray, normals: np.ndarray, colors: np.ndarray,
                    faces: np.ndarray):  # noqa: ANN201 - a moderngl.VertexArray
        """Upload a world-space mesh with linear vertex colours (n, 3) as one vertex array."""
        data = np.hstack([positions, normals, colors]).astype(np.float32)
        vbo = self.ctx.buffer(data.tobytes())
        ibo, size = _indices(self.ctx, faces, len(positions))
        return self.ctx.vertex_array(self.static, [(vbo, "3f 3f 3f", "in_pos", "in_normal",
                                                    "in_color")], ibo, index_element_size=size)

    def set_lights(self, ambient: float, directions: np.ndarray, colors: np.ndarray) -> None:
        """Directions (l, 3) towards the lights and linear colours x intensity (l, 3)."""
        d = np.zeros((8, 3), np.float32)
        c = np.zeros((8, 3), np.float32)
        d[: len(directions)], c[: len(colors)] = directions[:8], colors[:8] / np.pi
        for prog in (self.skinned, self.static):
            prog["ambient"].value = (ambient, ambient, ambient)
            prog["n_lights"].value = min(len(directions), 8)
            prog["light_dir"].write(d.tobytes())
            prog["light_col"].write(c.tobytes())

    def draw(self, view_proj: np.ndarray, characters: list[tuple[GLCharacter, np.ndarray,
                                                                  np.ndarray]],
             statics: list, out: np.ndarray) -> None:
        """Draw one frame into ``out`` (h, w, 4) uint8 RGBA (alpha 255 where drawn), waiting
        for its pixels.

        characters : (character, skinning matrices (j, 4, 4), model (4, 4)) per drawn skin
        statics    : vertex arrays from :meth:`static_mesh`
        """
        self._render(0, view_proj, characters, statics)
        self._read(0, out)

    def draw_frames(self, frames: Iterable[tuple[np.ndarray, list]], statics: list,
                    out: np.ndarray) -> None:
        """Draw a sequence of frames into ``out`` (f, h, w, 4), the same pixels as :meth:`draw`
        frame by frame, pipelined: frame n's pixels are read only after frame n+1 is drawn
        (into the other target), and only once a fence says frame n is rasterised, so the
        CPU's part of a frame (skinning, vertex shading, binning) overlaps the rasteriser
        threads' part of the one before. (A pixel-pack buffer does not help: llvmpipe packs
        on the CPU, waiting for the frame.)

        frames : (view_proj (4, 4), characters as for :meth:`draw`) per frame, consumed in
                 order (a generator may update the characters' rest positions between them)
        """
        # The fence calls come through EGL's loader: the default backend's; elsewhere frames
        # are still read one behind, each read waiting as in draw.
        sync = _Sync.load() if self.backend == "egl" else None
        fences: list = [None, None]
        last = -1
        try:
            for n, (view_proj, characters) in enumerate(frames):
                self._render(n % 2, view_proj, characters, statics)
                if sync is not None:  # also hands frame n to the rasteriser threads
                    fences[n % 2] = sync.fence()
                if last >= 0:
                    self._read_after(sync, fences[last % 2], last % 2, out[last])
                    fences[last % 2] = None
                last = n
            if last >= 0:
                self._read_after(sync, fences[last % 2], last % 2, out[last])
                fences[last % 2] = None
        finally:  # a generator that raised leaves a fence unwaited
            for fence in fences:
                if fence is not None:
                    sync.wait(fence)

    def _read_after(self, sync: _Sync | None, fence: int | None, slot: int, out: np.ndarray
                    ) -> None:
        """Read target ``slot`` once its frame's fence has passed, without waiting for the
        frame drawn since. llvmpipe reads a framebuffer that a binned scene still names by
        finishing everything queued, the next frame too; a rasterised scene keeps naming its
        framebuffer until llvmpipe reuses it for a new one, which the clear of a 1x1
        framebuffer makes it do."""
        if sync is None:
            self._read(slot, out)
            return
        sync.wait(fence)
        self._spare.use()
        self._spare.clear()
        sync.read(self._targets[slot][1].glo, self.width, self.height, self._pixels)
        self._unflip(out)

    def _read(self, slot: int, out: np.ndarray) -> None:
        self._targets[slot][1].read_into(self._pixels, components=4)
        self._unflip(out)

    def _unflip(self, out: np.ndarray) -> None:
        # GL's rows run bottom-up.
        out[:] = np.frombuffer(self._pixels, np.uint8).reshape(self.height, self.width, 4)[::-1]

    def _render(self, slot: int, view_proj: np.ndarray, characters: list, statics: list
                ) -> None:
        """Draw one frame into target ``slot`` (resolved where multisampled)."""
        import moderngl

        fbo, resolved = self._targets[slot]
        fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        vp = np.ascontiguousarray(view_proj.T, np.float32).tobytes()  # GL is column-major
        self.skinned["view_proj"].write(vp)
        self.static["view_proj"].write(vp)
        # Back faces culled on characters, as pyrender culls single-sided materials: half
        # the triangles llvmpipe sets up and rasterises, the same silhouette.
        self.ctx.enable(moderngl.CULL_FACE)
        for ch, mats, model in characters:
            ch.draw(mats, model)
        self.ctx.disable(moderngl.CULL_FACE)
        for vao in statics:
            vao.render()
        if resolved is not fbo:
            self.ctx.copy_framebuffer(resolved, fbo)


def _indices(ctx, faces: np.ndarray, n_vertices: int) -> tuple:  # noqa: ANN001
    """A face index buffer and its element size: 16-bit where the vertices allow (a
    character's 25-30k split vertices do), which llvmpipe draws 10-15 % faster than 32-bit
    (measured on the two-character shot, the same pixels); else 32-bit."""
    small = n_vertices <= 65536
    data = np.ascontiguousarray(faces, np.uint16 if small else np.uint32)
    return ctx.buffer(data.tobytes()), 2 if small else 4


class _Sync:
    """The GL calls moderngl lacks, through EGL's loader: fence syncs, and a read from a
    framebuffer bound for reading only (the draw framebuffer stays as it is)."""

    _GL_SYNC_GPU_COMMANDS_COMPLETE, _GL_SYNC_FLUSH_COMMANDS_BIT = 0x9117, 0x1
    _GL_READ_FRAMEBUFFER, _GL_RGBA, _GL_UNSIGNED_BYTE = 0x8CA8, 0x1908, 0x1401

    def __init__(self, lib) -> None:  # noqa: ANN001 - a ctypes.CDLL with eglGetProcAddress
        import ctypes as c

        def fn(name: str, res, *args):  # noqa: ANN001, ANN202
            addr = lib.eglGetProcAddress(name.encode())
            if not addr:
                raise OSError(name)
            return c.CFUNCTYPE(res, *args)(addr)

        self._fence = fn("glFenceSync", c.c_void_p, c.c_uint, c.c_uint)
        self._wait = fn("glClientWaitSync", c.c_uint, c.c_void_p, c.c_uint, c.c_uint64)
        self._delete = fn("glDeleteSync", None, c.c_void_p)
        self._bind = fn("glBindFramebuffer", None, c.c_uint, c.c_uint)
        self._get = fn("glGetIntegerv", None, c.c_uint, c.POINTER(c.c_int))
        self._read = fn("glReadPixels", None, c.c_int, c.c_int, c.c_int, c.c_int, c.c_uint,
                        c.c_uint, c.c_void_p)
        self._c = c

    @classmethod
    def load(cls) -> _Sync | None:
        """The calls, or None where EGL's loader does not give them (then reads wait)."""
        import ctypes

        try:
            lib = ctypes.CDLL("libEGL.so.1")
            lib.eglGetProcAddress.restype = ctypes.c_void_p
            lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
            return cls(lib)
        except OSError:
            return None

    def fence(self) -> int:
        return self._fence(self._GL_SYNC_GPU_COMMANDS_COMPLETE, 0)

    def wait(self, fence: int) -> None:
        self._wait(fence, 0, 2**63)  # the fence call flushed
        self._delete(fence)

    def read(self, framebuffer: int, width: int, height: int, into: bytearray) -> None:
        c = self._c
        bound = c.c_int()
        self._get(self._GL_READ_FRAMEBUFFER + 2, c.byref(bound))  # READ_FRAMEBUFFER_BINDING
        self._bind(self._GL_READ_FRAMEBUFFER, framebuffer)
        buf = (c.c_char * len(into)).from_buffer(into)
        self._read(0, 0, width, height, self._GL_RGBA, self._GL_UNSIGNED_BYTE, buf)
        self._bind(self._GL_READ_FRAMEBUFFER, bound.value)


class GLCharacter:
    """One character's buffers on the GPU and its skinning on the CPU; see
    :meth:`GLPreview.character`."""

    def __init__(self, gl: GLPreview, rest, normals, uv, joints, weights, faces, texture,
                 n_joints: int):  # noqa: ANN001
        from reskin.rigging.skinning_fast import Skinner, compact_influences

        ctx = gl.ctx
        self.gl, self.n = gl, len(rest)
        self.skinner = Skinner(rest, compact_influences(joints, weights, n_joints))
        self.normals = np.ascontiguousarray(normals, np.float32)
        self._posed = np.empty((self.n, 6), np.float32)  # x y z | normal, one frame
        self.posed = ctx.buffer(reserve=self._posed.nbytes, dynamic=True)
        uvs = ctx.buffer(np.ascontiguousarray(uv, np.float32).tobytes())
        ibo, size = _indices(ctx, faces, self.n)
        self.vao = ctx.vertex_array(gl.skinned, [
            (self.posed, "3f 3f", "in_pos", "in_normal"), (uvs, "2f", "in_uv")], ibo,
            index_element_size=size)
        rgb = np.repeat(texture[..., None], 3, axis=2) if texture.ndim == 2 else texture[..., :3]
        tex = np.ascontiguousarray(np.flip(rgb, axis=0), np.uint8)  # rows flipped, as pyrender
        self.texture = ctx.texture((tex.shape[1], tex.shape[0]), 3, tex.tobytes())
        self.texture.build_mipmaps()

    def set_rest(self, rest: np.ndarray) -> None:
        """Replace the rest positions (s, 3): per-frame morph weights."""
        self.skinner.vertices = np.ascontiguousarray(rest, np.float32)

    def draw(self, mats: np.ndarray, model: np.ndarray) -> None:
        """Skin (j, 4, 4) matrices on the CPU, upload the posed vertices, draw at ``model``."""
        self.skinner.lbs_with_normals(mats, self.normals, self._posed)
        self.posed.write(self._posed)
        prog = self.gl.skinned
        prog["model"].write(np.ascontiguousarray(model.T, np.float32).tobytes())
        self.texture.use(0)
        prog["albedo"].value = 0
        self.vao.render()

    def release(self) -> None:
        for obj in (self.vao, self.posed, self.texture):
            obj.release()
