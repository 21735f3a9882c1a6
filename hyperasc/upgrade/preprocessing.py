"""Keras 2's ImageDataGenerator: no mechanical rewrite, a warning with the Keras 3 recipe
built from the call's own arguments (preprocessing layers in the model, fit on the arrays).
"""

from __future__ import annotations

import ast

from .context import Context, Item

GENERATOR = "keras.preprocessing.image.ImageDataGenerator"


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Call):
        if ctx.qualify(node.func) == GENERATOR:
            out.append(
                ctx.warn(
                    "ImageDataGenerator",
                    ctx.start(node.func),
                    "Keras 3 has no ImageDataGenerator",
                    recipe(ctx, node),
                )
            )
    return out


def recipe(ctx: Context, node: ast.Call) -> str:
    given = {
        k.arg: " ".join(ctx.source(k.value).split()) for k in node.keywords if k.arg
    }
    layers = []
    if "rescale" in given:
        layers.append(f"keras.layers.Rescaling({given['rescale']})")
    flips = [d for d in ("horizontal", "vertical") if given.get(f"{d}_flip") == "True"]
    if flips:
        layers.append(f"keras.layers.RandomFlip('{'_and_'.join(flips)}')")
    if "rotation_range" in given:
        layers.append(f"keras.layers.RandomRotation({given['rotation_range']} / 360)")
    if "width_shift_range" in given or "height_shift_range" in given:
        h = given.get("height_shift_range", "0")
        w = given.get("width_shift_range", "0")
        layers.append(f"keras.layers.RandomTranslation({h}, {w})")
    if "zoom_range" in given:
        layers.append(f"keras.layers.RandomZoom({given['zoom_range']})")
    if "shear_range" in given:
        layers.append(f"keras.layers.RandomShear({given['shear_range']})")
    if not layers:
        layers.append("keras.layers.RandomFlip('horizontal')")
    return (
        "put the augmentation in the model as preprocessing layers, "
        f"keras.Sequential([{', '.join(layers)}]) before its first layer "
        "(they only act in training), and fit on the arrays: "
        "model.fit(X, Y, batch_size=32, ...) instead of model.fit(datagen.flow(X, Y, batch_size=32), ...)"
    )
