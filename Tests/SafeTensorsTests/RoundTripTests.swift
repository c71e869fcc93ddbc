import Foundation
import Testing
@testable import SafeTensors

@Suite struct RoundTripTests {
    @Test func everyDTypeRoundTripsThroughAFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var archive = TensorArchive(metadata: ["note": "all dtypes"])
        for (i, dtype) in TensorArchive.DType.allCases.enumerated() {
            // Distinct non-trivial bytes per dtype, 2x3 elements each.
            let bytes = (0..<(6 * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 * 37 + i * 11) }
            let fixed = dtype == .bool ? bytes.map { $0 & 1 } : bytes
            try archive.set("t_\(dtype.rawValue)", dtype: dtype, shape: [2, 3], bytes: fixed)
        }
        let path = dir.file("all.safetensors")
        try archive.write(to: path)
        let loaded = try TensorArchive(contentsOf: path)
        #expect(loaded == archive)
        #expect(loaded.names == archive.names)
        for dtype in TensorArchive.DType.allCases {
            #expect(loaded["t_\(dtype.rawValue)"]?.dtype == dtype)
        }
    }

    @Test func typedAccessorsReturnWhatWasSet() throws {
        var archive = TensorArchive()
        let floats: [Float] = [0, -1.5, .pi, .greatestFiniteMagnitude, -.infinity, .leastNonzeroMagnitude * 3]
        try archive.set("f", floats: floats, shape: [2, 3])
        try archive.set("d", doubles: [1.0 / 3, -2e300], shape: [2])
        try archive.set("l", int64s: [.min, -1, 0, .max], shape: [2, 2])
        try archive.set("i", int32s: [.min, 5, .max], shape: [3])
        let loaded = try TensorArchive(decoding: try archive.encoded())
        #expect(try loaded.floats("f") == floats)
        #expect(try loaded.floats("f", shape: [2, 3]) == floats)
        #expect(try loaded.doubles("d") == [1.0 / 3, -2e300])
        #expect(try loaded.int64s("l", shape: [2, 2]) == [.min, -1, 0, .max])
        #expect(try loaded.int32s("i") == [.min, 5, .max])
        #expect(try loaded.shape(of: "l") == [2, 2])
    }

    @Test func metadataEmptyArchiveScalarAndZeroSizeTensors() throws {
        let empty = TensorArchive()
        let emptyBytes = try empty.encoded()
        #expect(try TensorArchive(decoding: emptyBytes) == empty)
        #expect(emptyBytes.count == 16)  // length + "{}" padded to 8

        var archive = TensorArchive(metadata: ["quote\"key": "line\nbreak \u{1}é😀", "": "empty key"])
        try archive.set("scalar", floats: [2.5], shape: [])
        try archive.set("zero", floats: [], shape: [3, 0, 2])
        try archive.set("zero-int", int64s: [], shape: [0])
        let loaded = try TensorArchive(decoding: try archive.encoded())
        #expect(loaded == archive)
        #expect(loaded.metadata["quote\"key"] == "line\nbreak \u{1}é😀")
        #expect(try loaded.floats("scalar", shape: []) == [2.5])
        #expect(try loaded.floats("zero", shape: [3, 0, 2]) == [])
    }

    @Test func headerIsPaddedAlignedAndDeterministic() throws {
        let archive = try sampleArchive()
        let first = try archive.encoded()
        #expect(try archive.encoded() == first)
        var length = 0
        for i in 0..<8 { length |= Int(first[i]) << (8 * i) }
        #expect((8 + length) % 8 == 0)
        let header = String(decoding: first[8..<(8 + length)], as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"epoch\":\"3\",\"format\":\"pt\"}"))
        // Every tensor's bytes start at a multiple of its element size (relative to an aligned start).
        let loaded = try TensorArchive(decoding: first)
        #expect(loaded.names == archive.names)
        let json = try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any]
        for name in archive.names {
            let offsets = (json?[name] as? [String: Any])?["data_offsets"] as? [Int]
            let size = archive[name]?.dtype.byteSize ?? 1
            #expect((offsets?[0] ?? -1) % size == 0, "\(name) misaligned")
        }
    }

    @Test func replacingKeepsPositionAndRemoveWorks() throws {
        var archive = try sampleArchive()
        let names = archive.names
        try archive.set("bn.running_var", floats: [9], shape: [1])
        #expect(archive.names == names)
        #expect(archive.remove("step") != nil)
        #expect(archive.remove("step") == nil)
        #expect(!archive.contains("step"))
        #expect(archive.count == names.count - 1)
    }

    @Test func accessorErrorsNameTensorExpectedAndFound() throws {
        let archive = try sampleArchive()
        do {
            _ = try archive.floats("conv.weight", shape: [2, 3, 3, 3])
            Issue.record("shape mismatch accepted")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .shapeMismatch)
            #expect(error.tensor == "conv.weight")
            #expect(error.description.contains("[2, 3, 3, 3]") && error.description.contains("[2, 3, 2, 2]"))
        }
        #expect(throws: SafeTensorsError(.missingTensor, tensor: "nope", "no such tensor (have 6)")) {
            try archive.floats("nope")
        }
        do {
            _ = try archive.int64s("labels")
            Issue.record("dtype mismatch accepted")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .dtypeMismatch && error.description.contains("I32"))
        }
        #expect(throws: SafeTensorsError.self) { try archive.floats("labels") }
    }

    @Test func settersRejectInconsistentTensors() throws {
        var archive = TensorArchive()
        for attempt in [
            { try archive.set("a", floats: [1, 2, 3], shape: [2, 2]) },
            { try archive.set("a", floats: [], shape: [-1]) },
            { try archive.set("a", floats: [], shape: [1 << 62, 4]) },
            { try archive.set("a", dtype: .f32, shape: [2], bytes: [0, 0, 0]) },
            { try archive.set("__metadata__", floats: [1], shape: [1]) },
        ] as [() throws -> Void] {
            do {
                try attempt()
                Issue.record("accepted an inconsistent tensor")
            } catch let error as SafeTensorsError {
                #expect(error.kind == .invalidTensor)
            }
        }
        #expect(archive.isEmpty)
    }

    @Test func bf16RoundsToNearestEven() throws {
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa (1) wins; just above rounds up.
        #expect(HalfConversion.bf16(from: 1 + 0x1p-8) == 0x3F80)
        #expect(HalfConversion.bf16(from: 1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(HalfConversion.bf16(from: 1 + 3 * 0x1p-8) == 0x3F82)  // tie, odd -> up
        #expect(HalfConversion.float(fromBF16: HalfConversion.bf16(from: .nan)).isNaN)
        #expect(HalfConversion.bf16(from: .greatestFiniteMagnitude) == 0x7F80)  // rounds to infinity
        var archive = TensorArchive()
        try archive.set("b", bf16: [1, -2, 0.1], shape: [3])
        #expect(try archive.floats("b") == [1, -2, 0.10009765625])
    }

    @Test func f16ConversionMatchesTheStandardLibraryExhaustively() throws {
        // Every binary16 bit pattern widens exactly and narrows back to itself (NaNs stay NaN).
        for bits in 0...UInt16.max {
            let wide = HalfConversion.float(fromF16: bits)
            #if !(os(macOS) && arch(x86_64))
            let reference = Float(Float16(bitPattern: bits))
            #expect(wide.bitPattern == reference.bitPattern || (wide.isNaN && reference.isNaN))
            #endif
            if wide.isNaN {
                #expect(HalfConversion.float(fromF16: HalfConversion.f16(from: wide)).isNaN)
            } else if HalfConversion.f16(from: wide) != bits {
                Issue.record("f16 round trip failed for \(bits)")
            }
        }
        #if !(os(macOS) && arch(x86_64))
        // Narrowing agrees with Float16's rounding on many awkward values.
        var rng = SplitMix64(state: 7)
        for _ in 0..<100_000 {
            let value = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            guard !value.isNaN else { continue }
            #expect(HalfConversion.f16(from: value) == Float16(value).bitPattern)
        }
        #endif
    }

    /// A checkpoint of ResNet-18's size (11 M floats) round-trips; the times are printed, not
    /// asserted (a timed assertion fails on a busy or slow machine: it did, 1.7 s in a debug build).
    @Test func largeCheckpointRoundTrips() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let count = 11_000_000
        var archive = TensorArchive()
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { buffer in
            for i in stride(from: 0, to: count, by: 1009) { buffer[i] = Float(i) }
        }
        try archive.set("big", floats: values, shape: [count])
        let path = dir.file("big.safetensors")
        let clock = ContinuousClock()
        let writeTime = try clock.measure { try archive.write(to: path) }
        var loaded = TensorArchive()
        var floats: [Float] = []
        let readTime = try clock.measure {
            loaded = try TensorArchive(contentsOf: path)
            floats = try loaded.floats("big", shape: [count])
        }
        print("11M floats (44 MB): write \(writeTime), read + floats() \(readTime)")
        #expect(floats == values)
    }
}
