/// The data layer hands its random generator to everyone who uses augmentations or the loader.
@_exported import Randomness
