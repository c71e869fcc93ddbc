extension TensorArchive {
    /// Element types a safetensors file can name; the raw value is the header's spelling.
    public enum DType: String, CaseIterable, Equatable, Hashable, Sendable {
        /// IEEE 754 binary64.
        case f64 = "F64"
        /// IEEE 754 binary32.
        case f32 = "F32"
        /// IEEE 754 binary16.
        case f16 = "F16"
        /// bfloat16: the upper half of a binary32.
        case bf16 = "BF16"
        /// Signed 64-bit integer.
        case i64 = "I64"
        /// Signed 32-bit integer.
        case i32 = "I32"
        /// Signed 16-bit integer.
        case i16 = "I16"
        /// Signed 8-bit integer.
        case i8 = "I8"
        /// Unsigned 64-bit integer.
        case u64 = "U64"
        /// Unsigned 32-bit integer.
        case u32 = "U32"
        /// Unsigned 16-bit integer.
        case u16 = "U16"
        /// Unsigned 8-bit integer.
        case u8 = "U8"
        /// Boolean stored as one byte (0 or 1).
        case bool = "BOOL"

        /// Bytes per element.
        public var byteSize: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool: return 1
            }
        }
    }
}

/// Bit-exact conversions between Float and the 16-bit float formats.
/// Written by hand (not via `Float16`) because `Float16` is unavailable on some platforms
/// (macOS on x86_64), and checkpoints must decode identically everywhere.
enum HalfConversion {
    /// Widens bfloat16 bits to Float; exact, since bf16 is a truncated binary32.
    @inline(__always)
    static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Narrows Float to bfloat16 bits, rounding to nearest even like PyTorch; NaNs stay (quiet) NaNs.
    @inline(__always)
    static func bf16(from value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        let bias: UInt32 = 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: (x &+ bias) >> 16)
    }

    /// Widens IEEE binary16 bits to Float; exact for every input, NaN payloads kept.
    @inline(__always)
    static func float(fromF16 h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: m * 2^-24 is exactly representable in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Narrows Float to IEEE binary16 bits with round-to-nearest-even; overflow gives infinity.
    @inline(__always)
    static func f16(from value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 112  // rebias 127 -> 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            // Result is subnormal (or zero): m = M >> (14 - e) with the implicit bit in M.
            if e < -10 { return sign }
            let full = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var m = full >> shift
            let rest = full & ((1 << shift) - 1)
            let half: UInt32 = 1 << (shift - 1)
            if rest > half || (rest == half && (m & 1) == 1) { m += 1 }
            return sign | UInt16(truncatingIfNeeded: m)
        }
        var m = mantissa >> 13
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && (m & 1) == 1) { m += 1 }
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        return sign | UInt16(truncatingIfNeeded: (UInt32(e) << 10) + m)
    }
}
