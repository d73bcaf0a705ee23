#pragma once
/// The .npy header: magic "\x93NUMPY", version, header length, and a Python dict literal
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. Shared by .npy and .npz.
#include "core/result.h"
#include "core/tensor.h"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace qs::io {

struct NpyHeader {
    core::DType dtype = core::DType::Unsupported;
    std::string descr;
    std::vector<int64_t> shape;
    uint64_t dataOffset = 0; ///< bytes from the start of the .npy to the data
    uint64_t dataBytes = 0;  ///< itemsize * product(shape)
    /// The data is in Fortran (column-major) order: the first axis varies fastest. numpy
    /// writes this for transposed arrays.
    bool fortranOrder = false;
};

/// Parses the header at the start of `bytes` (at least the whole header must be there).
/// `origin` prefixes error messages. Refuses object, structured and big-endian arrays with a
/// message saying which.
core::Result<NpyHeader> parseNpyHeader(std::span<const std::byte> bytes, const std::string& origin);

} // namespace qs::io
