import ArgumentParser
import Data
import Foundation
import Methods
import Training

/// What `invprop train --dataset folder` chooses from the images themselves when the preset's
/// choices (made for Fashion-MNIST) would not fit them: the channels, a training size, and the
/// folder augmentation and evaluation presets at that size (docs/recipes.md, "Image folders").
struct FolderDefaults {
    /// The facts read from the folder's headers.
    var survey: FolderSurvey
    /// Images left for training once the configuration's validation images are held out.
    var trainingImages: Int

    /// The training size for a median shorter side: the images' own size up to 64 pixels (a CPU
    /// budget; larger photos are cropped and resized to 64), at least 16.
    static func trainingSize(medianShorterSide side: Int) -> Int { min(64, max(16, side)) }

    /// Surveys the training images of the folder dataset in `c`.
    init(for c: TrainingConfig) throws {
        let opened = try DatasetCatalog.open(name: "folder", root: c.dataDir, split: .train, channels: 3)
        guard let folder = opened as? ImageFolderDataset else { throw ValidationError("--dataset folder did not open an image folder") }
        survey = try folder.survey()
        trainingImages = try TrainValidationSplit(total: folder.count, validation: c.validation, labelled: folder.classCount != nil,
                                                  trainLimit: c.trainSubset, seed: c.validationSeed ?? 0).training.count
    }

    /// Which of the choices the command line made itself.
    struct Given { var channels = false, augmentation = false, evalTransform = false, background = false, batchSize = false }

    /// Sets on `c` each choice neither `given` on the command line nor changed from the preset
    /// (`preset`) by a recipe. `imageSize` overrides the chosen size. Returns what was chosen, for the log.
    func apply(to c: inout TrainingConfig, preset: TrainingConfig, given: Given, imageSize: Int?) -> String {
        var chosen: [String] = []
        if !given.channels && c.model.inputChannels == preset.model.inputChannels {
            c.model.inputChannels = survey.colour > 0 ? 3 : 1
            chosen.append("\(c.model.inputChannels) channel\(c.model.inputChannels == 1 ? "" : "s") (\(survey.colour) of \(survey.sampled) sampled images in colour)")
        }
        let size = imageSize ?? Self.trainingSize(medianShorterSide: survey.medianShorterSide)
        let tone = c.model.inputChannels == 3 ? "rgb" : "grey"
        if !given.augmentation && c.augmentation == preset.augmentation {
            c.augmentation = "folder-invp-\(tone)-\(size)"
            chosen.append("augmentation \(c.augmentation)")
        }
        if !given.evalTransform && c.evalTransform == preset.evalTransform {
            c.evalTransform = "folder-eval-\(tone)-\(size)"
            chosen.append("evaluation transform \(c.evalTransform)")
        }
        // A folder with no more images than InvP's background M, or than a batch (batches are
        // full, so it would give no step), gets both capped: M to half the images (at least k + 1),
        // the batch to the largest power of two not above them.
        let n = trainingImages
        if !given.background, c.invp.backgroundCount == preset.invp.backgroundCount, c.invp.backgroundCount >= n,
           MethodRegistry.entry(c.method)?.options.contains("background") == true {
            c.invp.backgroundCount = max(c.invp.neighbourCount + 1, n / 2)
            chosen.append("background M \(c.invp.backgroundCount) (the folder has \(n) training images)")
        }
        if !given.batchSize, c.batchSize == preset.batchSize, c.batchSize > n, n >= 2 {
            c.batchSize = 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount)
            chosen.append("batch \(c.batchSize)")
        }
        guard !chosen.isEmpty else { return "" }
        return "image folder: median shorter side \(survey.medianShorterSide) px\(survey.uniformSize ? "" : " (sizes differ)") → "
            + chosen.joined(separator: ", ") + " at \(size)×\(size) (override with --in-channels, --image-size, --augmentation, --eval-transform)"
    }
}

extension TrainOptions {
    /// For `--dataset folder`, makes from the images the choices `preset` made for another
    /// dataset (`FolderDefaults`), keeping those given here or changed by a recipe; logs them.
    func chooseFolderDefaults(for c: inout TrainingConfig, preset: String?, log: (String) -> Void) throws {
        guard c.dataset == "folder" else { return }
        let base = try Recipe.starting(preset: preset, recipe: nil).configuration()
        let given = FolderDefaults.Given(channels: inChannels != nil, augmentation: augmentation != nil, evalTransform: evalTransform != nil,
                                         background: invpOptions.background != nil,
                                         batchSize: batchSize != nil)
        let chosen = try FolderDefaults(for: c).apply(to: &c, preset: base, given: given, imageSize: imageSize)
        if !chosen.isEmpty { log(chosen) }
    }
}
