import Foundation

/// A small labelled dataset with real cluster structure, for smoke runs and integration tests:
/// class c is a bright bar at angle c·180°/C through a randomly shifted centre, with random
/// thickness, brightness and noise, on a dark grey 28×28 background (Fashion-MNIST's size).
/// Image `i` has label `i mod C` and is a pure function of (seed, i).
public struct ShapesDataset: ImageDataset {
    /// "shapes".
    public let name = "shapes"
    /// Number of images.
    public let count: Int
    /// Always 1 (grey).
    public let channels = 1
    /// Number of classes (bar angles).
    public let classes: Int
    /// Seed of the pixel content.
    public let seed: UInt64
    /// Side of the square images.
    public let size = 28

    /// `count` images in `classes` classes.
    public init(count: Int, classes: Int = 4, seed: UInt64 = 0) throws {
        guard count >= 1, (2...36).contains(classes) else {
            throw DataError.invalidOption("shapes dataset: count \(count) must be ≥ 1 and classes \(classes) in 2…36")
        }
        self.count = count
        self.classes = classes
        self.seed = seed
    }

    /// Number of classes.
    public var classCount: Int? { classes }

    /// The image of sample `index`.
    public func image(at index: Int) throws -> ImageU8 {
        guard index >= 0 && index < count else { throw DataError.invalidOption("shapes: index \(index) outside 0..<\(count)") }
        var rng = SeededGenerator(seed: seed, streams: [0x5AA9E5, UInt64(index)])
        let angle = Double(index % classes) * Double.pi / Double(classes)
        let (cx, cy) = (13.5 + rng.uniform(-4, 4), 13.5 + rng.uniform(-4, 4))
        let thickness = rng.uniform(1.2, 2.5), brightness = rng.uniform(150, 250)
        let (nx, ny) = (-sin(angle), cos(angle))   // unit normal of the bar
        var pixels = [UInt8](repeating: 0, count: size * size)
        for y in 0..<size {
            for x in 0..<size {
                let distance = abs((Double(x) - cx) * nx + (Double(y) - cy) * ny)
                let value = (distance < thickness ? brightness : 30) + rng.uniform(-20, 20)
                pixels[y * size + x] = UInt8(min(max(value, 0), 255))
            }
        }
        return ImageU8(height: size, width: size, channels: 1, pixels: pixels)
    }

    /// `index mod classes`.
    public func label(at index: Int) -> Int? { index >= 0 && index < count ? index % classes : nil }
}
