import Foundation
import Testing
@testable import Data

/// Files written by other software, to check our readers against someone else's writer.
@Suite struct ReaderThirdPartyFileTests {
    /// `scipy.io.savemat(..., do_compression=True)` (SciPy 1.17) of X uint8 32x32x3x2 with
    /// X[y,x,c,n] = (37n + 11y + 5x + 101c) mod 256 and y = [[10],[3]] (float64).
    static let scipyCompressedSVHN = [
        "TUFUTEFCIDUuMCBNQVQtZmlsZSBQbGF0Zm9ybTogcG9zaXgsIENyZWF0ZWQgb246IEZyaSBOb3YgMjcgMTA6MzA6MDIgMjAyNgAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU0PAAAAwAMAAHichZZnVA1wGIdvITsZ",
        "GWVkk72zsmVviYqysomyyaaM7LIpI8rKrpC9yc5ekb0pI9zzXh/up/e5nffcvtxznvN7Pvwfa4PB4JTfYLAyfmcyXmaD6ZPBeDbG",
        "c/h/6YxnaTwL45/b//8Nxt8ZsuYtWr5W47ZufYaNmxG8ctOu2NNX7yd/TsuUu3DZ6g1adc1gY1+qSj2XTp4DRk0OXLpu2774C7ee",
        "vE2xzJ6/eMXaTdv3yGLrUK5mozbdeg8dO33Bio07Y04l3Hvx6XfGXIXKVHNu2aVXDruSles27+jhM3LSnCVrt+49ev7m4zffLbLl",
        "K1bBqUm77n3zFHGs0bC1q/eQMdPmh4bvOHTyyt3nH39Z5SxYumr9Fp17DixQolKdZh3c+/tOnL14TcSeI+duPHr9zQzaROk1ePTU",
        "eSFh2w+euHwn6cNPM2gTZb8RE2YtWr0l+vDZ6w9fff1rBm2iHOQ/Ze7yDVEHjl9KfPb+R3ozaBPl8PEzF67avDvuzLUHL7/8yWwG",
        "baL0Cwhatj5y/7GLt5++S01nbQatTCvQyrQCrUwr0Mq0Aq1MK9DKtAKtTCvQyrQCrUwr0Mq0Aq1MK9DKtAKtTCvQyrQCrUwr0Mq0",
        "Aq1MK9DKtAKtTCvQyrQCrUwr0KAvBvQdBX0nQd850HcZ9F0HfYmg7wHoewr6kkHfW9D3CfR9B32/lGkFWplWoJVpBVqZVqCVaQVa",
        "mVaglWkFWplWoJVpBVqZVqCVaQVamVaglWkFWplWoJVpBVqZVqCVaQWa3nfQVwT0lQB9ZUFfRdBXDfQ5gb76oK8x6HMBfW1AX0fQ",
        "5wr63EGfF+RZP8izQZBnwyHP/CDPxkGeTYY8mw55NgfybD7k2WLIsxDIs9WQZxsgzzZDnkVCnu2CPNtH7zvoHw/6A0D/DNAfCPoX",
        "gP4loD8U9K8B/WGgfwvojwL9u0H/ftAfC/rjQf8pyLvzkHdXIO9uQN7dgbx7CHn3DPLuJeTdO8i7z5B3KZB3vyHvLCDvrCDvskLe",
        "2UDe2YK+R6AvCfS9An3vQd8X0JcK+tJAnyXoywj6soG+nKAvL+izB30Oep3blYS8c4S8qwR5Vx3yrjbknTPkXRPIuxaQd20h7zpB",
        "3nWDvPOAvPOGvOsPeTcY8m4E5J0/ve+grynoawn62oG+zqDPDfR5gr7eoM8H9A0Bfb6gbzTomwD6poC+mZBnQZBnwZBnSyHPVkCe",
        "rYU8C4c8i4A82w55Fg15dgDyLA7y7Bjk2WnIswuQZwmQZzchz+7S+/4Pf0fk6Q8AAAAtAAAAeJzjY2BgcABiNiDmgNIgwArlMwEx",
        "IxgzMlQCaU4gFmCAARUHCM3hAAAwNgGz",
    ].joined()

    @Test func readsScipyCompressedMATFile() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let decoded = Foundation.Data(base64Encoded: Self.scipyCompressedSVHN)
        let bytes = try #require(decoded)
        let path = try temp.write("test_32x32.mat", [UInt8](bytes))
        let dataset = try SVHNDataset(path: path, name: "svhn-test")
        #expect(dataset.count == 2)
        #expect(dataset.label(at: 0) == 0 && dataset.label(at: 1) == 3)
        for n in 0..<2 { #expect(try dataset.image(at: n) == Fixture.image(n, side: 32, channels: 3)) }
    }
}
