import Foundation
import Randomness
import Testing
@testable import Data

/// Un-Mix's mixtures against the authors' steps (the fixture of scripts/make_unmix_fixtures.py),
/// and the draw's distribution.
@Suite struct UnMixTests {
    struct Fixture: Decodable {
        struct Images: Decodable { var shape: [Int], values: [Float] }
        struct Global: Decodable { var lambda: Double, mixed: [Double] }
        struct Region: Decodable { var centre: [Int], cut: [Int], rows: [Int], columns: [Int], lambda: Double, mixed: [Double] }
        var images: Images, global: Global, region: Region
    }

    func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MethodsTests/Fixtures/unmix_fixtures.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    @Test func mixturesMatchTheAuthorsSteps() throws {
        let f = try fixture()
        let s = f.images.shape
        let global = UnMixDraw(lambda: f.global.lambda, box: nil).mix(f.images.values, batch: s[0], channels: s[1], height: s[2], width: s[3])
        // zip stops at the shorter array: the lengths must agree for it to compare every value.
        #expect(global.count == f.global.mixed.count)
        for (a, b) in zip(global, f.global.mixed) { #expect(abs(Double(a) - b) < 1e-5) }
        let region = UnMixDraw.region(height: s[2], width: s[3], centre: (f.region.centre[0], f.region.centre[1]),
                                      cut: (f.region.cut[0], f.region.cut[1]))
        #expect(region.box?.rows == f.region.rows[0]..<f.region.rows[1] && region.box?.columns == f.region.columns[0]..<f.region.columns[1])
        #expect(abs(region.lambda - f.region.lambda) < 1e-12)
        let mixed = region.mix(f.images.values, batch: s[0], channels: s[1], height: s[2], width: s[3])
        #expect(mixed.count == f.region.mixed.count)
        #expect(zip(mixed, f.region.mixed).allSatisfy { Double($0) == $1 })
    }

    /// Global mixtures come with the asked probability, λ ~ Beta(β, β) (mean 1/2, variance
    /// 1/(4(2β + 1))), region draws stay inside the image, and a generator's draws repeat.
    @Test func drawsFollowTheirDistribution() {
        var g = SeededGenerator(seed: 5)
        var globals = 0, lambdas: [Double] = []
        for _ in 0..<4000 {
            let d = UnMixDraw.draw(&g, globalProbability: 0.3, beta: 2, height: 28, width: 28)
            if d.box == nil { globals += 1; lambdas.append(d.lambda) } else {
                #expect(d.box!.rows.lowerBound >= 0 && d.box!.rows.upperBound <= 28 && d.box!.columns.upperBound <= 28)
                #expect(d.lambda >= 0 && d.lambda <= 1)
            }
        }
        #expect(abs(Double(globals) / 4000 - 0.3) < 0.03)
        let mean = lambdas.reduce(0, +) / Double(lambdas.count)
        let variance = lambdas.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(lambdas.count)
        #expect(abs(mean - 0.5) < 0.02 && abs(variance - 0.05) < 0.01)
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        #expect(UnMixDraw.draw(&a, globalProbability: 0.5, beta: 1, height: 8, width: 8) == UnMixDraw.draw(&b, globalProbability: 0.5, beta: 1, height: 8, width: 8))
    }
}
