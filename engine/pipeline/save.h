#pragma once
/// Saving a quantized model: every tensor the plan quantizes is stored in its encoded form
/// (stored.h), every other tensor is copied byte for byte from the source file.
///   .gguf         GGUF-native schemes only (q8_0, q4_k, ...): the blocks as llama.cpp stores
///                 them; kept tensors must have a GGUF type.
///   .safetensors  every other scheme: codes, scales and zero points as separate tensors.
/// Metadata: quantscope.format = "quantized-v1", quantscope.source, and per quantized tensor
/// quantscope.tensor.NAME = {"scheme", "method", "source_shape", "out_axis"} (JSON text). The
/// source's metadata is carried over byte for byte when both are GGUF (so llama.cpp can load
/// a requantized GGUF); other sources' metadata is not.
#include "quant/plan.h"

#include <filesystem>

/// The pipeline layer sits above quant and io: quant turns a result into stored parts
/// (quant/stored.h), io writes parts (io/model_writer.h); this file joins the two.
namespace qs::pipeline {

/// Quantizes `model` under `plan` (only `options.only` when set) and writes the result to
/// `out` atomically (a temporary file renamed into place; a failure leaves `out` untouched).
/// Memory holds one tensor's result at a time: stored parts wait in a scratch file beside
/// `out` (unlinked at creation) until the final file is assembled.
/// Fails before writing when a tensor cannot be quantized or stored: its name and the reason
/// are in the message. `out` must not be the source file.
core::Result<quant::ModelReport> saveQuantizedModel(const core::Model& model, const quant::Plan& plan,
                                                    const std::filesystem::path& out,
                                                    const quant::ApplyOptions& options = {},
                                                    core::Progress* progress = nullptr);

} // namespace qs::pipeline
