import Testing
import Randomness
@testable import Methods

/// Starting the bank from real features (`--bank-init features`) and the neighbour table from it.
@Suite struct BankStartTests {
    /// `fill` normalises every row and refuses a wrong size or a non-finite value.
    @Test func fillNormalisesAndValidates() throws {
        let bank = try MemoryBank(count: 3, dimension: 2, seed: 1)
        try bank.fill(features: [3, 4, 0, -2, 1, 1])
        let half = Float(0.5).squareRoot()
        let expected: [Float] = [0.6, 0.8, 0, -1, half, half]
        for (a, b) in zip(bank.storage, expected) { #expect(abs(a - b) < 1e-6) }
        #expect(throws: MethodsError.self) { try bank.fill(features: [1, 2, 3]) }
        #expect(throws: MethodsError.self) { try bank.fill(features: [1, 0, .nan, 1, 1, 1]) }
        #expect(bank.storage.count == 6)
    }

    /// Every table row becomes the k most similar other entries, as brute force finds them,
    /// whatever the chunk size. (The order within a row follows the reference update: the
    /// anchor's own slot, first, takes the (k+1)-th entry.)
    @Test func tableRowsAreBruteForceNeighbours() throws {
        let n = 37, d = 5, k = 3
        var rng = SeededGenerator(seed: 7)
        let features = (0..<n * d).map { _ in rng.uniformFloat(-1, 1) }
        for chunk in [1, 8, 64] {
            var config = InvPConfig()
            config.neighbourCount = k
            config.backgroundCount = 16
            config.positiveCount = 4
            let method = try InvariancePropagation(config: config, datasetSize: n, dimension: d, seed: 3)
            try method.bank.fill(features: features)
            try method.initializeNeighboursFromBank(chunk: chunk)
            let v = method.bank.storage
            for i in 0..<n {
                let similarity = (0..<n).map { j in (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[j * d + $1] } }
                let expected = (0..<n).filter { $0 != i }.sorted { similarity[$0] > similarity[$1] }.prefix(k).map { Int32($0) }
                #expect(Set(method.table.row(i)) == Set(expected), "row \(i), chunk \(chunk)")
            }
        }
    }
}
