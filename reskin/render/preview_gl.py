"""OpenGL drawing for the preview: moderngl on a headless EGL context, skinning on the GPU.

A shot uploads its static buffers once: per character the rest positions, normals, UVs and up
to 8 influences per vertex (a vertex buffer) and the texture; the set (floor, wall, props) as
one world-space buffer of vertex colours. A frame then writes only each character's skinning
matrices (j rows of a 3x4, a small float texture) and its camera, and the vertex shader blends
the matrices (LBS, as :func:`reskin.rigging.skinning.lbs`). Colours follow pyrender's
convention: textures are sRGB, lighting is linear, the output is gamma-encoded (1/2.2).
"""

from __future__ import annotations

import numpy as np

_SKINNED_VS = """
#version 330
uniform mat4 view_proj;
uniform mat4 model;
// Row r of joint j's 3x4 skinning matrix is rows[3 j + r]: a uniform block, which llvmpipe's
// (single-threaded) vertex stage reads far faster than texel fetches.
layout(std140) uniform Bones { vec4 rows[3 * MAX_JOINTS]; };
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
in ivec4 in_j0;
in ivec4 in_j1;
in vec4 in_w0;
in vec4 in_w1;
out vec3 v_normal;
out vec2 v_uv;
void main() {
    vec4 r0 = vec4(0.0), r1 = vec4(0.0), r2 = vec4(0.0);
    for (int c = 0; c < 4; ++c) {
        int a = 3 * in_j0[c], b = 3 * in_j1[c];
        r0 += in_w0[c] * rows[a] + in_w1[c] * rows[b];
        r1 += in_w0[c] * rows[a + 1] + in_w1[c] * rows[b + 1];
        r2 += in_w0[c] * rows[a + 2] + in_w1[c] * rows[b + 2];
    }
    vec4 p = vec4(in_pos, 1.0);
    vec3 posed = vec3(dot(r0, p), dot(r1, p), dot(r2, p));
    vec3 n = vec3(dot(r0.xyz, in_normal), dot(r1.xyz, in_normal), dot(r2.xyz, in_normal));
    v_normal = mat3(model) * n;
    v_uv = in_uv;
    gl_Position = view_proj * (model * vec4(posed, 1.0));
}
"""

_STATIC_VS = """
#version 330
uniform mat4 view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
void main() {
    v_normal = in_normal;
    v_color = in_color;
    gl_Position = view_proj * vec4(in_pos, 1.0);
}
"""

_LIGHTING = """
uniform vec3 ambient;
uniform int n_lights;
uniform vec3 light_dir[8];  // towards the light, world space
uniform vec3 light_col[8];  // linear colour x intensity / pi (a Lambert BRDF)
vec3 shade(vec3 base, vec3 normal) {
    vec3 n = normalize(normal);
    vec3 light = ambient;
    for (int i = 0; i < n_lights; ++i) light += light_col[i] * max(dot(n, light_dir[i]), 0.0);
    return pow(clamp(base * light, 0.0, 1.0), vec3(1.0 / 2.2));
}
"""

_SKINNED_FS = """
#version 330
uniform sampler2D albedo;
in vec3 v_normal;
in vec2 v_uv;
out vec4 frag;
""" + _LIGHTING + """
void main() {
    vec3 base = pow(texture(albedo, v_uv).rgb, vec3(2.2));
    frag = vec4(shade(base, v_normal), 1.0);
}
"""

_STATIC_FS = """
#version 330
in vec3 v_normal;
in vec3 v_color;
out vec4 frag;
""" + _LIGHTING + """
void main() {
    frag = vec4(shade(v_color, v_normal), 1.0);
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


# Joints a character may have in the preview (a 12 kB uniform block; GL guarantees 16 kB).
MAX_JOINTS = 256


class GLPreview:
    """A headless moderngl context with one colour + depth framebuffer of width x height."""

    def __init__(self, width: int, height: int, backend: str = "egl", samples: int = 0):
        import moderngl

        self.ctx = moderngl.create_context(standalone=True, backend=backend)
        self.width, self.height = width, height
        size = (width, height)
        self.resolved = self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer(size, 4)])
        if samples > 1:  # multisampled target, resolved into ``resolved`` per frame
            self.fbo = self.ctx.framebuffer(
                color_attachments=[self.ctx.renderbuffer(size, 4, samples=samples)],
                depth_attachment=self.ctx.depth_renderbuffer(size, samples=samples))
        else:
            self.fbo = self.ctx.framebuffer(
                color_attachments=self.resolved.color_attachments,
                depth_attachment=self.ctx.depth_renderbuffer(size))
            self.resolved = self.fbo
        self.skinned = self.ctx.program(
            vertex_shader=_SKINNED_VS.replace("MAX_JOINTS", str(MAX_JOINTS)),
            fragment_shader=_SKINNED_FS)
        self.bones = self.ctx.buffer(reserve=MAX_JOINTS * 48, dynamic=True)
        self.skinned["Bones"].binding = 0
        self.bones.bind_to_uniform_block(0)
        self.static = self.ctx.program(vertex_shader=_STATIC_VS, fragment_shader=_STATIC_FS)
        self._pixels = bytearray(width * height * 4)

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
        ibo = self.ctx.buffer(np.ascontiguousarray(faces, np.int32).tobytes())
        return self.ctx.vertex_array(self.static, [(vbo, "3f 3f 3f", "in_pos", "in_normal",
                                                    "in_color")], ibo)

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
        """Draw one frame into ``out`` (h, w, 4) uint8 RGBA (alpha 255 where drawn).

        characters : (character, skinning matrices (j, 4, 4), model (4, 4)) per drawn skin
        statics    : vertex arrays from :meth:`static_mesh`
        """
        import moderngl

        self.fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        vp = np.ascontiguousarray(view_proj.T, np.float32).tobytes()  # GL is column-major
        self.skinned["view_proj"].write(vp)
        self.static["view_proj"].write(vp)
        for ch, mats, model in characters:
            ch.draw(mats, model)
        for vao in statics:
            vao.render()
        if self.resolved is not self.fbo:
            self.ctx.copy_framebuffer(self.resolved, self.fbo)
        self.resolved.read_into(self._pixels, components=4)
        # GL's rows run bottom-up.
        out[:] = np.frombuffer(self._pixels, np.uint8).reshape(self.height, self.width, 4)[::-1]


class GLCharacter:
    """One character's buffers on the GPU; see :meth:`GLPreview.character`."""

    def __init__(self, gl: GLPreview, rest, normals, uv, joints, weights, faces, texture,
                 n_joints: int):  # noqa: ANN001
        ctx = gl.ctx
        self.gl, self.n = gl, len(rest)
        k = joints.shape[1]
        if k > 8:
            raise ValueError(f"the preview draws up to 8 influences per vertex, got {k}")
        jn = np.zeros((len(rest), 8), np.int32)
        w = np.zeros((len(rest), 8), np.float32)
        jn[:, :k], w[:, :k] = joints, weights
        self.pos = ctx.buffer(np.ascontiguousarray(rest, np.float32).tobytes(), dynamic=True)
        attr = ctx.buffer(np.hstack([normals.astype(np.float32), uv.astype(np.float32)])
                          .tobytes())
        infl = ctx.buffer(np.hstack([jn.view(np.float32), w]).tobytes())
        ibo = ctx.buffer(np.ascontiguousarray(faces, np.int32).tobytes())
        self.vao = ctx.vertex_array(gl.skinned, [
            (self.pos, "3f", "in_pos"), (attr, "3f 2f", "in_normal", "in_uv"),
            (infl, "4i 4i 4f 4f", "in_j0", "in_j1", "in_w0", "in_w1")], ibo)
        rgb = np.repeat(texture[..., None], 3, axis=2) if texture.ndim == 2 else texture[..., :3]
        tex = np.ascontiguousarray(np.flip(rgb, axis=0), np.uint8)  # rows flipped, as pyrender
        self.texture = ctx.texture((tex.shape[1], tex.shape[0]), 3, tex.tobytes())
        self.texture.build_mipmaps()
        if n_joints > MAX_JOINTS:
            raise ValueError(f"the preview draws up to {MAX_JOINTS} joints, got {n_joints}")

    def set_rest(self, rest: np.ndarray) -> None:
        """Replace the rest positions (s, 3): per-frame morph weights."""
        self.pos.write(np.ascontiguousarray(rest, np.float32).tobytes())

    def draw(self, mats: np.ndarray, model: np.ndarray) -> None:
        self.gl.bones.write(np.ascontiguousarray(mats[:, :3, :], np.float32).tobytes())
        prog = self.gl.skinned
        prog["model"].write(np.ascontiguousarray(model.T, np.float32).tobytes())
        self.texture.use(0)
        prog["albedo"].value = 0
        self.vao.render()

    def release(self) -> None:
        for obj in (self.vao, self.pos, self.texture):
            obj.release()
