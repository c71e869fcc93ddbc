import ArgumentParser
import Data
import Foundation
import Training
import Yams

/// A training recipe: `invprop train` options as data. A YAML (or JSON) mapping whose keys are
/// the options' long names without dashes (`epochs: 28`, `crop-scale: 0.8`, `milestones: [400,
/// 600]`, a flag as `nesterov: true`), plus `preset:`, the recipe it starts from (a built-in
/// name, a file, or `none` for invprop's bare defaults; absent: the default preset), and an
/// optional `description:`. The built-in presets are such files (`Sources/InvpropCLI/Recipes`).
struct Recipe: Equatable {
    /// The preset's name or the file's path, recorded as the run's `preset`.
    var name: String
    /// What it starts from: a preset name or a recipe path; nil for the bare defaults.
    var base: String?
    /// One line for listings.
    var description: String
    /// The options as command-line arguments, e.g. ["--epochs", "28", "--nesterov"].
    var arguments: [String]

    /// The preset `invprop train` uses when given neither --preset nor --recipe.
    static let defaultPreset = "fashion-mnist"
    /// The built-in presets, in the order listings show them.
    static let builtinNames = ["fashion-mnist", "fashion-mnist-long", "fashion-mnist-paper", "cifar10", "cifar100", "svhn", "imagenet"]
    /// The largest recipe file read (recipes are a few hundred bytes).
    static let maximumFileBytes = 1 << 20

    /// Built-in names with their descriptions (unreadable ones say so instead of failing the listing).
    static var catalog: [(name: String, description: String)] {
        builtinNames.map { name in (name, (try? builtin(named: name).description) ?? "(recipe file missing)") }
    }

    /// A built-in preset, read from the recipe files installed beside the binary (or, in a source
    /// checkout, from `Sources/InvpropCLI/Recipes`).
    static func builtin(named name: String) throws -> Recipe {
        guard builtinNames.contains(name) else {
            throw ValidationError("unknown preset '\(name)'; known: \(builtinNames.joined(separator: ", ")) (or a recipe file with --recipe)")
        }
        let candidates = builtinDirectories.map { $0.appendingPathComponent("\(name).yaml") }
        guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ValidationError("the recipe file of preset '\(name)' is missing; looked in \(candidates.map(\.path).joined(separator: ", ")). "
                                  + "Rebuild invprop (swift build) so that its resources are installed beside the binary")
        }
        var recipe = try parse(try read(file.path), source: file.path)
        recipe.name = name
        return recipe
    }

    /// Where the built-in recipes may be: SwiftPM's resource bundle beside the executable, then
    /// the source tree this binary was built from.
    static var builtinDirectories: [URL] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Recipes")
        return [executable.appendingPathComponent("invprop_InvpropCLI.resources/Recipes"),
                Bundle.main.bundleURL.appendingPathComponent("invprop_InvpropCLI.resources/Recipes"), source]
    }

    /// What a command starts from: the recipe file, or else the preset (default: the default
    /// preset); both at once are refused.
    static func starting(preset: String?, recipe: String?) throws -> Recipe {
        if preset != nil && recipe != nil { throw ValidationError("give --preset or --recipe, not both (a recipe names its own preset)") }
        return try recipe.map { try load(file: $0) } ?? builtin(named: preset ?? defaultPreset)
    }

    /// Reads a recipe file; errors name the file.
    static func load(file path: String) throws -> Recipe {
        try parse(try read(path), source: path)
    }

    /// The file's text, refusing what cannot be a recipe before parsing it.
    static func read(_ path: String) throws -> String {
        let data: Foundation.Data
        do { data = try RegularFile.read(path, limit: maximumFileBytes) } catch {
            switch error {
            case .notRegular: throw ValidationError("recipe \(path) \(error); a recipe is a YAML or JSON file")
            case .tooLarge, .grew:
                throw ValidationError("recipe \(path) \(error); a recipe is a short YAML or JSON mapping (at most \(maximumFileBytes) bytes)")
            case .missing, .unreadable: throw ValidationError("recipe \(path) \(error)")
            }
        }
        guard !data.isEmpty else {
            throw ValidationError("recipe \(path) is empty; a recipe is a mapping of option names to values (e.g. 'epochs: 28')")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("recipe \(path) is not UTF-8 text")
        }
        return text
    }

    /// Parses recipe text (`source` names it in errors): a mapping of option names to scalars or
    /// lists of scalars.
    static func parse(_ text: String, source: String) throws -> Recipe {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ValidationError("recipe \(source) is not valid YAML or JSON: \(error)")
        }
        guard let mapping = node?.mapping else {
            throw ValidationError("recipe \(source) must be a mapping of option names to values (e.g. 'epochs: 28')")
        }
        var recipe = Recipe(name: source, base: defaultPreset, description: "recipe \(source)", arguments: [])
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string, !key.isEmpty else { throw ValidationError("recipe \(source): a key is not a plain name") }
            let text: String
            switch value {
            case .scalar(let scalar): text = scalar.string
            case .sequence(let items):
                let parts = items.map { $0.scalar?.string }
                guard parts.allSatisfy({ $0 != nil }) else { throw ValidationError("recipe \(source): '\(key)' must list plain values") }
                text = parts.compactMap { $0 }.joined(separator: ",")
            default: throw ValidationError("recipe \(source): '\(key)' must be a value or a list of values, not a mapping")
            }
            switch key {
            case "preset": recipe.base = text == "none" ? nil : text
            case "description": recipe.description = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default:
                guard !key.hasPrefix("-") else { throw ValidationError("recipe \(source): write '\(key.drop { $0 == "-" })' without dashes") }
                // A number beyond Float's range (lr: 1e400) would reach the options as inf and be
                // refused there without the file's name.
                for part in text.split(separator: ",") {
                    if let number = Double(part.trimmingCharacters(in: .whitespaces)), !Float(number).isFinite {
                        throw ValidationError("recipe \(source): '\(key): \(text)' is not a finite number within ±3.4e38 (the options' range)")
                    }
                }
                switch text {
                case "true": recipe.arguments.append("--\(key)")
                case "false": continue
                default: recipe.arguments += ["--\(key)", text]
                }
            }
        }
        return recipe
    }

    /// The recipes from the root to this one: each one's `base`, followed back (a cycle or a chain
    /// deeper than 8 is refused).
    func chain() throws -> [Recipe] {
        var chain = [self]
        while let base = chain[0].base {
            guard chain.count < 8, !chain.contains(where: { $0.name == base }) else {
                throw ValidationError("recipe \(name): its presets form a cycle or a chain deeper than 8 (\(chain.map(\.name).reversed().joined(separator: " → ")) → \(base))")
            }
            do {
                chain.insert(Self.builtinNames.contains(base) ? try Self.builtin(named: base) : try Self.load(file: chain[0].resolve(base)), at: 0)
            } catch let error as ValidationError {
                throw ValidationError("recipe \(chain[0].name) starts from '\(base)': \(error.message)")
            }
        }
        return chain
    }

    /// A recipe path named inside this recipe: relative paths are relative to this recipe's folder
    /// (a built-in preset resolves against the working directory).
    func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), !Self.builtinNames.contains(name) else { return path }
        return URL(fileURLWithPath: name).deletingLastPathComponent().appendingPathComponent(path).path
    }

    /// The configuration this recipe describes: invprop's defaults with every recipe of the chain
    /// applied in order, each option checked as the command line checks it.
    func configuration() throws -> TrainingConfig {
        var config = TrainingConfig()
        for recipe in try chain() {
            let options: TrainOptions
            do { options = try TrainOptions.parse(recipe.arguments) } catch {
                throw ValidationError("recipe \(recipe.name): \(TrainOptions.message(for: error))")
            }
            try options.apply(to: &config)
        }
        config.preset = name
        return config
    }
}
