"""What Keras 1/2 called things and what Keras 3 calls them: the tables the families share.

Plain data and string functions only; nothing here imports keras.
"""

from __future__ import annotations

import re

# Submodules that Keras 3 folded into `keras.layers` / `keras.utils`.
LAYER_SUBMODULES = {
    "core",
    "convolutional",
    "recurrent",
    "pooling",
    "embeddings",
    "normalization",
    "merge",
    "advanced_activations",
    "noise",
    "wrappers",
    "local",
    "convolutional_recurrent",
    "cudnn_recurrent",
    "recurrent_v2",
    "dense_attention",
    "kernelized",
    "experimental",  # keras.layers.experimental.preprocessing.X is keras.layers.X
    "preprocessing",
}
UTILS_SUBMODULES = {
    "np_utils",
    "visualize_util",
    "vis_utils",
    "generic_utils",
    "data_utils",
    "io_utils",
    "layer_utils",
    "training_utils",
    "multi_gpu_utils",
    "conv_utils",
}
# Keras 1 class names that Keras 3 spells differently, same arguments.
RENAMED = {
    "keras.layers.Convolution1D": "Conv1D",
    "keras.layers.Convolution2D": "Conv2D",
    "keras.layers.Convolution3D": "Conv3D",
    "keras.layers.SeparableConvolution2D": "SeparableConv2D",
    "keras.layers.CuDNNLSTM": "LSTM",
    "keras.layers.CuDNNGRU": "GRU",
}
# Other names Keras 3 gives a Keras 1/2 function.
RENAMED_FUNCTIONS = {"keras.utils.plot": "plot_model"}
# Keras 1 wrote Convolution2D(filters, rows, cols); Keras 3 wants one kernel_size tuple.
SPLIT_KERNEL = {"keras.layers.Convolution2D": 2, "keras.layers.Convolution3D": 3}

# Names Keras 3 no longer has, and what to use instead.
GONE = {
    "keras.layers.Merge": "Keras 3 has no Merge layer; build the model with the functional API and "
    "merge with keras.layers.Concatenate / Add / Multiply / Average / Maximum / Dot",
    "keras.layers.merge": "Keras 3 has no merge(); use keras.layers.concatenate(inputs, axis=...), "
    "add, multiply, average, maximum or dot, after the mode= you passed",
    "keras.layers.Highway": "Keras 3 has no Highway layer; write it as a custom layer",
    "keras.layers.MaxoutDense": "Keras 3 has no MaxoutDense layer; write it as a custom layer",
    "keras.layers.TimeDistributedDense": "use keras.layers.TimeDistributed(keras.layers.Dense(...))",
    "keras.layers.ThresholdedReLU": "use keras.layers.ReLU(threshold=theta)",
    "keras.utils.multi_gpu_model": "Keras 3 has no multi_gpu_model; build and compile the model inside "
    "`with tf.distribute.MirroredStrategy().scope():` (TensorFlow backend) and fit it directly",
    "keras.wrappers.scikit_learn.KerasClassifier": "Keras 3 has no scikit-learn wrappers; use "
    "scikeras.wrappers.KerasClassifier (pip install scikeras)",
    "keras.wrappers.scikit_learn.KerasRegressor": "Keras 3 has no scikit-learn wrappers; use "
    "scikeras.wrappers.KerasRegressor (pip install scikeras)",
    "keras.backend.set_image_dim_ordering": "use keras.config.set_image_data_format('channels_first') "
    "for 'th', or 'channels_last' for 'tf'",
    "keras.backend.image_dim_ordering": "use keras.config.image_data_format(): 'channels_last' is "
    "Keras 1's 'tf', 'channels_first' its 'th'",
    "keras.preprocessing.image.ImageDataGenerator": "Keras 3 has no ImageDataGenerator; use "
    "keras.utils.image_dataset_from_directory and augmentation layers such as keras.layers.RandomFlip",
}
# Keras 1/2 modules Keras 3 does not have at all.
REMOVED_MODULES = {
    "keras.wrappers.scikit_learn",
    "keras.backend.tensorflow_backend",
    "keras.backend.theano_backend",
    "keras.backend.cntk_backend",
    "keras.engine",
    "keras.legacy.layers",
    "keras.preprocessing.text",
    "keras.layers.Merge",
    "keras.utils.multi_gpu_model",
}
OPTIMIZERS = {
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "Ftrl",
    "AdamW",
}
# Keras 2's lowercase aliases of the optimizer classes.
OPTIMIZER_ALIASES = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamax": "Adamax",
    "nadam": "Nadam",
}
# Keras 2's default learning rates, for the decay= advice.
DEFAULT_LR = {
    "SGD": "0.01",
    "RMSprop": "0.001",
    "Adagrad": "0.01",
    "Adadelta": "1.0",
    "Adam": "0.001",
    "Adamax": "0.002",
    "Nadam": "0.002",
    "Ftrl": "0.001",
    "AdamW": "0.001",
}

# Keyword renames, per Keras 3 layer.
_KERNEL = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
}
_CONV = {
    **_KERNEL,
    "border_mode": "padding",
    "subsample": "strides",
    "nb_filter": "filters",
}
_CONV1D = {**_CONV, "filter_length": "kernel_size", "subsample_length": "strides"}
_RNN = {
    **_KERNEL,
    "output_dim": "units",
    "inner_init": "recurrent_initializer",
    "U_regularizer": "recurrent_regularizer",
    "U_constraint": "recurrent_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
}
_POOL = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
LAYER_KEYWORDS: dict[str, dict[str, str]] = {
    "Dense": {**_KERNEL, "output_dim": "units"},
    "Conv1D": _CONV1D,
    "Conv2D": _CONV,
    "Conv3D": _CONV,
    "SeparableConv2D": _CONV,
    "Conv2DTranspose": _CONV,
    "LSTM": _RNN,
    "GRU": _RNN,
    "SimpleRNN": _RNN,
    "Embedding": {
        "init": "embeddings_initializer",
        "W_regularizer": "embeddings_regularizer",
        "W_constraint": "embeddings_constraint",
    },
    "Dropout": {"p": "rate"},
    **{f"{kind}Pooling{d}D": _POOL for kind in ("Max", "Average") for d in (1, 2, 3)},
}
DIM_ORDERING = {"tf": "channels_last", "th": "channels_first"}
DATA_FORMAT_LAYERS = {n for n in LAYER_KEYWORDS if "Conv" in n or "Pooling" in n}

# Keras 1's datasets counted the vocabulary in nb_words=. Keras 3's imdb.load_data swallows
# unknown keywords, so nb_words= would silently load every word.
DATASET_KEYWORDS = {
    "keras.datasets.imdb.load_data": {"nb_words": "num_words"},
    "keras.datasets.reuters.load_data": {"nb_words": "num_words"},
}
GENERATOR_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}
# fit_generator's queue settings: Keras 3's fit has none; they belong to a PyDataset now.
QUEUE_KEYWORDS = {
    "workers",
    "use_multiprocessing",
    "max_queue_size",
    "pickle_safe",
    "max_q_size",
    "nb_worker",
}
# Keras 1 counted samples where Keras 3 counts batches: no safe rewrite without the batch size.
SAMPLE_KEYWORDS = {
    "samples_per_epoch": "steps_per_epoch",
    "nb_val_samples": "validation_steps",
    "val_samples": "steps",
}
SHOW_ACCURACY_METHODS = {
    "fit",
    "evaluate",
    "fit_generator",
    "evaluate_generator",
    "train_on_batch",
    "test_on_batch",
}
CATEGORICAL_LOSSES = {"categorical_crossentropy", "sparse_categorical_crossentropy"}
HISTORY_KEYS = {"acc": "accuracy", "val_acc": "val_accuracy"}
# Spellings of one metric. Keras 2.2 logged 'acc' and the long names whatever
# compile() said; Keras 3 logs each metric under the string compile() was given.
METRIC_SPELLINGS = [
    ("acc", "accuracy"),
    ("mae", "mean_absolute_error"),
    ("mse", "mean_squared_error"),
    ("mape", "mean_absolute_percentage_error"),
    ("msle", "mean_squared_logarithmic_error"),
]
# Keras 2 aliases of loss and metric functions that Keras 3 dropped.
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "MSE": "mean_squared_error",
    "mae": "mean_absolute_error",
    "MAE": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "KLD": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh",
    "cosine": "cosine_similarity",
    "cosine_proximity": "cosine_similarity",
}


# Words whose absence means there is nothing to do (the compile note's fast path).
TRIGGERS = re.compile(
    r"keras\.layers\.\w+\.|_utils\b|\b(?:lr|init|p|decay|bias|epsilon|period|input|output|input_dim)\s*=|"
    r"nb_\w+|Convolution\dD|border_mode|subsample|"
    r"W_regularizer|b_regularizer|[WbU]_constraint|output_dim|pool_length|\bstride\s*=|CuDNN|_generator\b|"
    r"predict_classes|show_accuracy|multi_gpu_model|acc['\"]|\b[Mm]erge\b|dim_ordering|scikit_learn|"
    r"ImageDataGenerator|Highway|MaxoutDense|ThresholdedReLU|\btest_split|class_mode|inner_init|U_regularizer|"
    r"dropout_[WU]|filter_length|samples_per_epoch|val_samples|\b(?:workers|use_multiprocessing|max_q\w*)\s*=|"
    r"\b(?:adam|sgd|rmsprop|adagrad|adadelta|adamax|nadam|maxnorm|nonneg|unitnorm)\b|"
    r"\b(?:MSE|MAE|MAPE|MSLE|KLD|mse|mae|mape|msle|kld|cosine|cosine_proximity|logcosh|"
    r"kullback_leibler_divergence)\b|mean_\w+_error|\.accuracy\s*\(|name_scope|"
    r"ModelCheckpoint|\.h5\b|\.hdf5\b|set_random_seed|\blogging\b|ConfigProto|Session|set_session|"
    r"tensorflow_backend|theano_backend|keras\.engine|cross_validation|sklearn\.externals|tools\.plotting|"
    r"\b(?:Inf|Infinity|PINF|NINF|infty|NaN|NAN|float_|complex_|string_|unicode_|product|cumproduct|"
    r"alltrue|sometrue|round_)\b|Tokenizer|to_yaml|count_params|experimental"
)


def collapse(module: str) -> str:
    """A Keras 1/2 module path in Keras 3's spelling: keras.layers.core -> keras.layers."""
    parts = module.split(".")
    for i in range(1, len(parts) - 1):
        if parts[i - 1] == "keras" and keras_root(parts[: i - 1]):
            if (parts[i] == "layers" and parts[i + 1] in LAYER_SUBMODULES) or (
                parts[i] == "utils" and parts[i + 1] in UTILS_SUBMODULES
            ):
                return ".".join(parts[: i + 1])
    return module


def keras_root(prefix: list[str]) -> bool:
    return prefix in ([], ["tensorflow"])


def canonical(dotted: str) -> str | None:
    """`tensorflow.keras.layers.core.Dense` -> `keras.layers.Dense`; None when not Keras."""
    if dotted.startswith("tensorflow.keras"):
        dotted = dotted[len("tensorflow.") :]
    if dotted != "keras" and not dotted.startswith("keras."):
        return None
    parts = dotted.split(".")
    if len(parts) >= 3 and parts[1] in ("layers", "utils"):
        subs = LAYER_SUBMODULES if parts[1] == "layers" else UTILS_SUBMODULES
        rest = [p for p in parts[2:] if p not in subs]
        parts = parts[:2] + rest[-1:] if len(rest) < len(parts) - 2 else parts
    if len(parts) == 3 and parts[1] == "optimizers" and parts[2] in OPTIMIZER_ALIASES:
        parts[2] = OPTIMIZER_ALIASES[parts[2]]
    return ".".join(parts)


def known(name: str) -> bool:
    """`name` is surely in its module: a star import of that module brings it in."""
    module, _, short = name.rpartition(".")
    return (
        name in RENAMED
        or name in GONE
        or (module == "keras.layers" and short in LAYER_KEYWORDS)
        or (
            module == "keras.optimizers"
            and (short in OPTIMIZERS or short in OPTIMIZER_ALIASES)
        )
        or name
        in (
            "keras.models.Model",
            "keras.callbacks.ModelCheckpoint",
            "keras.callbacks.ReduceLROnPlateau",
        )
    )


def module_rule(module: str) -> str:
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part in LAYER_SUBMODULES or part in UTILS_SUBMODULES:
            return ".".join(parts[max(i - 2, 0) : i + 1]).removeprefix("tensorflow.")
    return module
