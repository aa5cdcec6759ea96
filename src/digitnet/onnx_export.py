"""A model as an ONNX graph, so that any ONNX runtime reads digits without digitnet (``digitnet[onnx]``).

The graph does all that digitnet does between a 28x28 crop and the probabilities:

    pixels (n, 28, 28) uint8, ink high ──Cast, Reshape, Div 255──► (n, 784) float32 in [0, 1]
      [──Reshape──► (n, 1, 28, 28) ──(Conv, activation, MaxPool) per convolution, Transpose to
       (row, column, channel) order, Reshape──► (n, features)]  only for a network with convolutions
      ──(MatMul, Add, activation) per hidden layer──► MatMul, Add ──► logits (n, classes)
      ──Div temperature, Softmax──► probabilities (n, classes), rows sum to 1

For an ensemble (``Model.members``, the ``reader``) each network has its own such chain, with its
arrays' names prefixed ``m0_``, ``m1_``, ...; ``probabilities`` is their mean and ``logits`` its log.

The input scaling is the one the model file states (``metadata["input"]``) and the temperature the one
its calibration fitted; the activations are read from the metadata and mapped to ONNX operators.
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitnet.errors import ModelFileError
from digitnet.modelfile import INPUT_SPEC, Model
from digitnet.nn.activations import LEAK
from digitnet.nn.conv import KERNEL, POOL

OPSET = 17  # ONNX operator set: every operator used here is unchanged since, and runtimes from 2022 on read it
INPUT_NAME, OUTPUT_NAME, LOGITS_NAME = "pixels", "probabilities", "logits"
PIXEL_SCALE = 255.0  # INPUT_SPEC's scaling: pixel / 255
# digitnet's activation names -> (ONNX operator, its attributes)
ONNX_ACTIVATIONS = {
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAK}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
}


def hidden_activations(metadata: dict, hidden_layers: int) -> list[str]:
    """The activation name of each hidden layer, from the model's metadata.

    Accepts ``"activations": {"hidden": NAME or [NAME, ...], "output": "softmax"}`` and
    ``"activation": NAME``; a file that names none is a ReLU network (the first digitnet models).
    """
    activations = metadata.get("activations")
    hidden = activations.get("hidden") if isinstance(activations, dict) else metadata.get("activation", "relu")
    if isinstance(activations, dict) and activations.get("output", "softmax") != "softmax":
        raise ModelFileError(f"cannot export an output activation {activations['output']!r} (only softmax)")
    names = [hidden] * hidden_layers if isinstance(hidden, str) else list(hidden or [])
    if len(names) != hidden_layers or any(name not in ONNX_ACTIVATIONS for name in names):
        raise ModelFileError(f"cannot export hidden activations {hidden!r} for {hidden_layers} hidden layers "
                             f"(known: {', '.join(ONNX_ACTIVATIONS)})")
    return names


def convolution_nodes(network, activations: list[str], nodes: list, constants: dict, flat: str,
                      shape: tuple[int, int], prefix: str = "") -> str:
    """Append the nodes of ``network``'s convolutions (``nn.convnet``) to ``nodes`` and their arrays to
    ``constants``, every name after ``prefix``; returns the name of the features (n, count),
    flattened as ``ConvNetwork`` does."""
    constants[f"{prefix}image_shape"] = np.array([-1, 1, *shape], np.int64)
    nodes.append(helper.make_node("Reshape", [flat, f"{prefix}image_shape"], [f"{prefix}image"]))
    layer_input = f"{prefix}image"
    for i in range(network.convolutions):
        kernels, bias = network.weights[i], network.biases[i]
        channels_in = kernels.shape[0] // (KERNEL * KERNEL)
        # rows (channel, row, column) x channels out -> ONNX's (channels out, channels in, row, column)
        w, b = f"{prefix}W{i}", f"{prefix}b{i}"
        constants[w] = kernels.reshape(channels_in, KERNEL, KERNEL, -1).transpose(3, 0, 1, 2).astype(np.float32)
        constants[b] = bias.astype(np.float32)
        operator, attributes = ONNX_ACTIVATIONS[activations[i]]
        nodes += [helper.make_node("Conv", [layer_input, w, b], [f"{prefix}convolution{i}"],
                                   kernel_shape=[KERNEL, KERNEL]),
                  helper.make_node(operator, [f"{prefix}convolution{i}"], [f"{prefix}activated{i}"], **attributes),
                  helper.make_node("MaxPool", [f"{prefix}activated{i}"], [f"{prefix}pooled{i}"],
                                   kernel_shape=[POOL, POOL], strides=[POOL, POOL])]
        layer_input = f"{prefix}pooled{i}"
    constants[f"{prefix}features_shape"] = np.array([-1, network.dense_weights[0].shape[0]], np.int64)
    nodes += [helper.make_node("Transpose", [layer_input], [f"{prefix}channels_last"], perm=[0, 2, 3, 1]),
              helper.make_node("Reshape", [f"{prefix}channels_last", f"{prefix}features_shape"], [f"{prefix}features"])]
    return f"{prefix}features"


def to_onnx(model: Model) -> onnx.ModelProto:
    """The ONNX graph of ``model``: input ``pixels`` (n, 28, 28) uint8, outputs ``probabilities`` and
    ``logits`` (n, classes) float32."""
    if model.metadata.get("input", INPUT_SPEC) != INPUT_SPEC:
        raise ModelFileError(f"cannot export the input scaling {model.metadata['input']!r}; "
                             f"this digitnet knows {INPUT_SPEC['scaling']!r}")
    sizes = model.network.layer_sizes
    height, width = INPUT_SPEC["shape"]
    if sizes[0] != height * width:
        raise ModelFileError(f"a network with {sizes[0]} inputs does not read {height}x{width} images")
    constants = {"flat_shape": np.array([-1, sizes[0]], np.int64), "pixel_scale": np.float32(PIXEL_SCALE)}
    nodes = [helper.make_node("Cast", [INPUT_NAME], ["pixel_values"], to=TensorProto.FLOAT),
             helper.make_node("Reshape", ["pixel_values", "flat_shape"], ["flat"]),
             helper.make_node("Div", ["flat", "pixel_scale"], ["scaled_pixels"])]
    if not model.members:
        network_nodes(model, nodes, constants, "scaled_pixels", "", LOGITS_NAME, OUTPUT_NAME)
    else:
        each = [network_nodes(member, nodes, constants, "scaled_pixels", f"m{k}_", f"m{k}_logits",
                              f"m{k}_probabilities") for k, member in enumerate([model, *model.members])]
        constants["member_count"] = np.float32(len(each))
        constants["smallest"] = np.finfo(np.float32).tiny  # as Model.digit_logits: no log of 0
        nodes += [helper.make_node("Sum", each, ["probability_sum"]),
                  helper.make_node("Div", ["probability_sum", "member_count"], [OUTPUT_NAME]),
                  helper.make_node("Max", [OUTPUT_NAME, "smallest"], ["positive_probabilities"]),
                  helper.make_node("Log", ["positive_probabilities"], [LOGITS_NAME])]
    graph = helper.make_graph(
        nodes, "digitnet",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["n", height, width])],
        outputs=[helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", sizes[-1]])
                 for name in (OUTPUT_NAME, LOGITS_NAME)],
        initializer=[numpy_helper.from_array(np.asarray(value), name) for name, value in constants.items()],
        doc_string=f"pixels: (n, {height}, {width}) uint8, {INPUT_SPEC['scaling']}; probabilities: " + (
            f"the mean of {1 + len(model.members)} networks' softmax(logits / temperature); logits: its log"
            if model.members else f"softmax of logits / temperature {model.temperature:g}"),
    )
    exported = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="digitnet")
    exported.ir_version = 8  # the IR of opset 17: readable by runtimes that predate this onnx package
    helper.set_model_props(exported, {"digitnet_metadata": json.dumps(
        {k: model.metadata[k] for k in ("layer_sizes", "activations", "calibration", "digitnet_version")
         if k in model.metadata})})
    onnx.checker.check_model(exported, full_check=True)
    return exported


def network_nodes(model: Model, nodes: list, constants: dict, layer_input: str, prefix: str, logits: str,
                  probabilities: str) -> str:
    """Append the nodes and arrays of ``model.network`` alone, from the scaled pixels ``layer_input``
    to its ``logits`` and ``probabilities`` (softmax of logits / its temperature), every other name
    after ``prefix``; returns ``probabilities``."""
    network, sizes = model.network, model.network.layer_sizes
    constants[f"{prefix}temperature"] = np.float32(model.temperature)
    activations = hidden_activations(model.metadata, network.convolutions + len(sizes) - 2)
    if network.convolutions:
        layer_input = convolution_nodes(network, activations, nodes, constants, layer_input,
                                        tuple(INPUT_SPEC["shape"]), prefix)
    for i, (w, b) in enumerate(zip(network.dense_weights, network.dense_biases), start=network.convolutions):
        constants[f"{prefix}W{i}"], constants[f"{prefix}b{i}"] = w.astype(np.float32), b.astype(np.float32)
        last = i == len(activations)
        dense = logits if last else f"{prefix}dense{i}"
        nodes += [helper.make_node("MatMul", [layer_input, f"{prefix}W{i}"], [f"{prefix}product{i}"]),
                  helper.make_node("Add", [f"{prefix}product{i}", f"{prefix}b{i}"], [dense])]
        if not last:
            operator, attributes = ONNX_ACTIVATIONS[activations[i]]
            layer_input = f"{prefix}hidden{i}"
            nodes.append(helper.make_node(operator, [dense], [layer_input], **attributes))
    nodes += [helper.make_node("Div", [logits, f"{prefix}temperature"], [f"{prefix}scaled_logits"]),
              helper.make_node("Softmax", [f"{prefix}scaled_logits"], [probabilities], axis=-1)]
    return probabilities
