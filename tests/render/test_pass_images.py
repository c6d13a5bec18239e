"""The passes drawn as pictures for the review site: depth, normals, motion."""

from __future__ import annotations

import numpy as np

from reskin.render.pass_images import depth_image, motion_image, normal_image


def test_depth_is_bright_near_dark_far_and_black_where_nothing_is():
    depth = np.array([[1.0, 2.0, np.inf]], np.float32)
    img = depth_image(depth)
    assert img.shape == (1, 3, 3) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [255] * 3 and img[0, 2].tolist() == [0] * 3
    assert 0 < img[0, 1, 0] < 60  # the farthest surface stays apart from the void
    assert depth_image(np.full((2, 2), np.inf)).max() == 0


def test_normals_are_colours_and_background_black():
    normal = np.array([[[0, 0, 1], [1, 0, 0], [0, 0, 0]]], np.float32)
    img = normal_image(normal)
    assert img[0, 0].tolist() == [128, 128, 255]  # facing the camera: blue
    assert img[0, 1].tolist() == [255, 128, 128]  # facing right: red
    assert img[0, 2].tolist() == [0, 0, 0]


def test_motion_hue_is_direction_and_brightness_speed():
    motion = np.array([[[4, 0], [0, 2], [0, 0]]], np.float32)  # right fast, down slower, still
    img = motion_image(motion).astype(int)
    assert img[0, 0].tolist() == [255, 0, 0]  # right: red, the fastest: full brightness
    assert img[0, 1].tolist() == [64, 128, 0]  # down (a quarter turn): chartreuse, half as fast
    assert img[0, 2].tolist() == [0, 0, 0]
    assert motion_image(np.zeros((2, 2, 2), np.float32)).max() == 0
