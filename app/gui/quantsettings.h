#pragma once
/// What the quantization panel asks for, as plain values: the format and its options, the
/// clipping rule, the method and its options, the calibration source and the backend. specOf()
/// writes the scheme string quant::parseScheme reads, so the panel and the CLI speak the same
/// language (and a plan file holds the same text).
#include <QString>

#include <cstdint>

namespace qs::app {

struct QuantSettings {
    QString format = "int";      ///< int, fp8_e4m3, fp8_e5m2, mxfp4, mxfp8, nvfp4, nf4, q8_0 ... q6_k
    int bits = 8;                ///< int: 2..8
    QString granularity = "channel"; ///< int/fp8: tensor, channel, inchannel, group
    int groupSize = 128;         ///< int/fp8 group; nf4 block
    bool asymmetric = false;     ///< int
    QString rounding = "rne";    ///< int: rne, away, stochastic
    uint64_t seed = 0;           ///< stochastic rounding
    bool saturate = true;        ///< fp8: saturate (else NaN / Inf on overflow)
    bool doubleQuant = false;    ///< nf4

    QString clip = "minmax";     ///< minmax, mse, percentile
    double percentile = 99.9;

    QString method = "rtn";      ///< rtn, gptq, awq, smoothquant, llm.int8, spqr
    double outlierThreshold = 6.0;
    double smoothAlpha = 0.5;
    double gptqDamp = 0.01;
    int gptqBlock = 128;
    bool gptqActOrder = false;
    double spqrPercent = 1.0;
    int awqGrid = 20;

    QString calibration = "none"; ///< none, synthetic, npy, imatrix
    int syntheticRows = 256;
    QString calibrationFile;
    QString backend = "reference";

    bool operator==(const QuantSettings&) const = default;
};

/// The scheme string of `s` ("int4:g128:asym", "fp8_e4m3:tensor", "nf4:g64:dq", "q4_k").
QString specOf(const QuantSettings& s);

/// The clip string ("minmax", "mse", "p99.9").
QString clipOf(const QuantSettings& s);

/// True for the formats whose options (granularity, bits, ...) apply: int; fp8; nf4 block size.
bool isIntFormat(const QString& format);
bool isFp8Format(const QString& format);
bool isGgufFormat(const QString& format);

} // namespace qs::app
