import Foundation
import SafeTensors
import Testing
@testable import Evaluation

/// `.npy` and safetensors export of embeddings, read back by us and by numpy.
@Suite struct EmbeddingExportTests {
    let embeddings = try! Embeddings(
        features: (0..<(7 * 3)).map { Float($0) * 0.25 - 2 }, dimension: 3,
        indices: [10, 11, 12, 20, 21, 22, 99], labels: [0, 1, 2, 0, 1, -1, 2])

    @Test func headerIsNumpyVersionOneAlignedTo64() throws {
        let bytes = try NumpyArray(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3]).encoded()
        #expect(Array(bytes[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix(" \n"))
        #expect(bytes.count == 10 + headerLength + 24)
        #expect(try NumpyArray(int64s: [1, 2], shape: [2]).headerDictionary.contains("'shape': (2,)"))
    }

    /// The CSV has a header, one row per image in row order, exact float text, and quotes the
    /// paths that need it (RFC 4180).
    @Test func csvRowsFollowTheArrays() throws {
        let plain = embeddings.csv(paths: nil).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(plain[0] == "index,label,f0,f1,f2" && plain.count == 7 + 2 && plain.last == "")
        #expect(plain[1] == "10,0,-2.0,-1.75,-1.5" && plain[6] == "22,-1,1.75,2.0,2.25")
        let paths = ["a.png", "b,c.png", "say \"hi\".png", "d.png", "e.png", "f.png", "g.png"]
        let withPaths = embeddings.csv(paths: paths).split(separator: "\n")
        #expect(withPaths[0] == "index,path,label,f0,f1,f2")
        #expect(withPaths[1] == "10,a.png,0,-2.0,-1.75,-1.5")
        #expect(withPaths[2] == "11,\"b,c.png\",1,-1.25,-1.0,-0.75")
        #expect(withPaths[3].hasPrefix("12,\"say \"\"hi\"\".png\",2,"))
    }

    @Test func roundTripsThroughOurReader() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try embeddings.writeNumpy(directory: directory, name: "test")
        #expect(paths.count == 3 && paths[0].hasSuffix("test_features.npy"))
        #expect(try Embeddings.readNumpy(directory: directory, name: "test") == embeddings)
        let safetensors = directory + "/test.safetensors"
        try embeddings.writeSafeTensors(to: safetensors, metadata: ["layer": "backbone"])
        #expect(try Embeddings.readSafeTensors(from: safetensors) == embeddings)
        #expect(try TensorArchive(contentsOf: safetensors).metadata["layer"] == "backbone")
        #expect(try TensorArchive(contentsOf: safetensors).shape(of: "features") == [7, 3])
    }

    @Test(.enabled(if: pythonWithNumpy, "needs python3 with numpy and scipy on PATH"))
    func numpyLoadsOurFilesAndWeReadNumpys() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try embeddings.writeNumpy(directory: directory, name: "e")
        let script = """
        import numpy as np
        f = np.load('\(directory)/e_features.npy'); l = np.load('\(directory)/e_labels.npy')
        i = np.load('\(directory)/e_indices.npy')
        assert f.dtype == np.float32 and f.shape == (7, 3), (f.dtype, f.shape)
        assert l.dtype == np.int64 and l.shape == (7,) and i.dtype == np.int64
        assert np.array_equal(f.ravel(), np.arange(21, dtype=np.float32) * 0.25 - 2)
        assert l.tolist() == [0, 1, 2, 0, 1, -1, 2] and i.tolist() == [10, 11, 12, 20, 21, 22, 99]
        np.save('\(directory)/np_f8.npy', np.arange(6, dtype=np.float64).reshape(2, 3))
        np.save('\(directory)/np_i4.npy', np.array([-3, 4], dtype=np.int32))
        np.save('\(directory)/np_f4_0d.npy', np.float32(2.5))
        np.save('\(directory)/np_fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
        print('ok')
        """
        let result = runPython(script)
        #expect(result?.status == 0, "\(result?.output ?? "")")
        let f8 = try NumpyArray(contentsOf: directory + "/np_f8.npy")
        #expect(f8.shape == [2, 3])
        #expect(try f8.floats() == [0, 1, 2, 3, 4, 5])
        let i4 = try NumpyArray(contentsOf: directory + "/np_i4.npy")
        #expect(i4.shape == [2])
        #expect(try i4.int64s() == [-3, 4])
        let scalar = try NumpyArray(contentsOf: directory + "/np_f4_0d.npy")
        #expect(scalar.shape == [])
        #expect(try scalar.floats() == [2.5])
        #expect(throws: EvaluationError.self) { try NumpyArray(contentsOf: directory + "/np_fortran.npy") }
    }

    @Test func badFilesAndShapesThrow() throws {
        #expect(throws: EvaluationError.self) { try NumpyArray(floats: [1, 2, 3], shape: [2, 2]) }
        #expect(throws: EvaluationError.self) { try NumpyArray(decoding: Array("not numpy".utf8)) }
        var truncated = try NumpyArray(floats: [1, 2, 3, 4], shape: [2, 2]).encoded()
        truncated.removeLast(4)
        #expect(throws: EvaluationError.self) { try NumpyArray(decoding: truncated) }
        #expect(throws: EvaluationError.self) { try NumpyArray(contentsOf: "/nonexistent/x.npy") }
        #expect(throws: EvaluationError.self) { try NumpyArray(int64s: [1], shape: [1]).floats() }
        #expect(throws: EvaluationError.self) {
            try Embeddings(features: [1, 2], dimension: 2, indices: [0, 1], labels: [0])
        }
    }
}
