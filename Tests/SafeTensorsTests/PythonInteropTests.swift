import Foundation
import Testing
@testable import SafeTensors

/// Runs python3 from PATH; the interop tests need the reference `safetensors`, `torch` and `numpy`.
enum Python {
    /// Whether `python3 -c 'import safetensors, torch, numpy'` succeeds; checked once.
    static let available: Bool = (try? run("import safetensors, torch, numpy").status) == 0

    /// Runs `script` with `arguments` and returns the exit status and combined output.
    static func run(_ script: String, _ arguments: [String] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Drain before waiting so a chatty child cannot block on a full pipe.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite(.enabled(if: Python.available, "skipped: python3 with safetensors, torch and numpy is not available"))
struct PythonInteropTests {
    /// Float bit patterns that stress rounding: ties, subnormals, overflow, signed zero, infinities, NaN, random.
    static func probeFloats() -> [Float] {
        var values: [Float] = [0, -0.0, 1, -1, 0.1, 1.0 / 3, 65504, 65519.99, 65520, 1e-8, 6e-8, 3e-8, 2.98e-8,
                               1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-11, 1 + 3 * 0x1p-11,
                               .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               .infinity, -.infinity, .nan]
        var rng = SplitMix64(state: 99)
        for _ in 0..<2000 {
            values.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)))
            values.append(Float.random(in: -70000...70000, using: &rng))
            values.append(Float.random(in: -1e-4...1e-4, using: &rng))
        }
        return values
    }

    @Test func referenceLibraryReadsOurFilesAndAgreesOnRounding() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var archive = try sampleArchive()
        let probe = Self.probeFloats()
        try archive.set("probe_f32", floats: probe, shape: [probe.count])
        try archive.set("probe_bf16", bf16: probe, shape: [probe.count])
        try archive.set("probe_f16", f16: probe, shape: [probe.count])
        try archive.set("u16", dtype: .u16, shape: [2], bytes: [1, 2, 3, 4])
        try archive.set("u64", dtype: .u64, shape: [1], bytes: [255, 255, 255, 255, 255, 255, 255, 255])
        try archive.set("odd_u8", dtype: .u8, shape: [3], bytes: [9, 8, 7])  // forces later tensors to rely on layout
        try archive.set("after_odd", doubles: [1.25], shape: [1])
        let ours = dir.file("ours.safetensors")
        let resaved = dir.file("resaved.safetensors")
        try archive.write(to: ours)
        let bits = probe.map { String($0.bitPattern) }.joined(separator: ",")

        let script = """
        import sys, torch, numpy as np
        from safetensors import safe_open
        from safetensors.torch import save_file
        src, dst, bits = sys.argv[1], sys.argv[2], sys.argv[3]
        with safe_open(src, framework="pt") as f:
            meta = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        probe = torch.from_numpy(np.array([int(b) for b in bits.split(",")], dtype=np.uint32).view(np.float32))
        assert torch.equal(tensors["probe_f32"].view(torch.int32), probe.view(torch.int32)), "f32 bits differ"
        for name, dtype in [("probe_bf16", torch.bfloat16), ("probe_f16", torch.float16)]:
            ours, ref = tensors[name], probe.to(dtype)
            nan = ref.isnan()
            assert torch.equal(ours.isnan(), nan), name + ": NaN positions differ"
            diff = (ours.view(torch.int16) != ref.view(torch.int16)) & ~nan
            assert not diff.any(), name + " rounding differs at %s" % diff.nonzero()[:5].flatten().tolist()
        assert tensors["step"].dtype == torch.int64 and tensors["step"].shape == () and tensors["step"].item() == 42
        assert tensors["labels"].tolist() == [7, -1, 9, 0]
        assert tensors["mask"].dtype == torch.bool and tensors["mask"].tolist() == [True, False, True]
        assert tensors["empty"].shape == (0, 5)
        assert tensors["conv.weight"].shape == (2, 3, 2, 2) and tensors["conv.weight"][1, 2, 1, 1].item() == 23 * 0.25 - 3
        assert tensors["after_odd"].item() == 1.25
        assert meta == {"format": "pt", "epoch": "3"}, meta
        save_file(tensors, dst, metadata=meta)
        print("python read", len(tensors), "tensors")
        """
        let result = try Python.run(script, [ours, resaved, bits])
        print(result.output, terminator: "")
        #expect(result.status == 0, "\(result.output)")
        guard result.status == 0 else { return }

        // Python re-saved what it parsed from our header; reading that back must give our tensors bit for bit.
        let back = try TensorArchive(contentsOf: resaved)
        #expect(back.metadata == archive.metadata)
        #expect(Set(back.names) == Set(archive.names))
        for name in archive.names {
            #expect(back[name] == archive[name], "\(name) differs after the Python round trip")
        }
    }

    @Test func weReadFilesWrittenByTheReferenceLibrary() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let torchFile = dir.file("torch.safetensors")
        let numpyFile = dir.file("numpy.safetensors")
        let script = """
        import sys, torch, numpy as np
        from safetensors.torch import save_file
        import safetensors.numpy
        x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
        save_file({
            "f32": x, "bf16": x.to(torch.bfloat16), "f16": (x * 1000).to(torch.float16),
            "f64": torch.arange(5, dtype=torch.float64) / 3,
            "i64": torch.tensor([-(2**63), -1, 0, 2**63 - 1], dtype=torch.int64),
            "i32": torch.tensor([-(2**31), 7, 2**31 - 1], dtype=torch.int32),
            "i16": torch.tensor([-300, 300], dtype=torch.int16), "i8": torch.tensor([-5, 5], dtype=torch.int8),
            "u8": torch.tensor([0, 200, 255], dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3),
        }, sys.argv[1], metadata={"format": "pt", "who": "python"})
        safetensors.numpy.save_file({"w": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
                                     "n": np.array([3, 1, 4], dtype=np.int64)}, sys.argv[2])
        """
        let result = try Python.run(script, [torchFile, numpyFile])
        #expect(result.status == 0, "\(result.output)")
        guard result.status == 0 else { return }

        let archive = try TensorArchive(contentsOf: torchFile)
        #expect(archive.metadata == ["format": "pt", "who": "python"])
        let x = (0..<12).map { Float($0) / 7 }
        #expect(try archive.floats("f32", shape: [3, 4]) == x)
        #expect(try archive.floats("bf16", shape: [3, 4]) == x.map { HalfConversion.float(fromBF16: HalfConversion.bf16(from: $0)) })
        #expect(try archive.floats("f16", shape: [3, 4])
                == x.map { HalfConversion.float(fromF16: HalfConversion.f16(from: $0 * 1000)) })
        #expect(try archive.doubles("f64", shape: [5]) == (0..<5).map { Double($0) / 3 })
        #expect(try archive.int64s("i64") == [.min, -1, 0, .max])
        #expect(try archive.int32s("i32") == [.min, 7, .max])
        #expect(archive["i16"]?.bytes == [0xD4, 0xFE, 0x2C, 0x01])
        #expect(archive["i8"]?.bytes == [0xFB, 5])
        #expect(archive["u8"]?.bytes == [0, 200, 255])
        #expect(archive["bool"] == TensorArchive.Entry(dtype: .bool, shape: [3], bytes: [1, 0, 1]))
        #expect(try archive.floats("scalar", shape: []) == [2.5])
        #expect(try archive.floats("empty", shape: [0, 3]) == [])

        let numpy = try TensorArchive(contentsOf: numpyFile)
        #expect(try numpy.floats("w", shape: [2, 3]) == [-1, -0.6, -0.2, 0.2, 0.6, 1].map { Float($0) })
        #expect(try numpy.int64s("n", shape: [3]) == [3, 1, 4])
    }
}
