import Codecs
import Foundation

/// One image on a review page: a thumbnail, a short caption and its file path (shown on hover).
public struct ReviewImage: Sendable {
    /// The image as decoded from its file.
    public var image: DecodedImage
    /// A short caption under the thumbnail ("0.993", "rank 4").
    public var caption: String
    /// The image's file path.
    public var path: String

    /// An image with its caption and path.
    public init(image: DecodedImage, caption: String, path: String) {
        self.image = image; self.caption = caption; self.path = path
    }
}

/// A titled part of a review page: rows of thumbnails, each row with an optional label.
public struct ReviewSection: Sendable {
    /// Heading, and a sentence on how to read the section.
    public var title: String, note: String
    /// Rows of images with their labels ("group 3", "region 7").
    public var rows: [(label: String, images: [ReviewImage])]

    /// A section with its rows.
    public init(title: String, note: String, rows: [(label: String, images: [ReviewImage])]) {
        self.title = title; self.note = note; self.rows = rows
    }
}

/// The self-contained HTML page `invprop curate` writes: facts at the top, then sections of
/// thumbnails as base64 PNG data URIs (no scripts, no network), in the report's style.
public struct CurationPage: Sendable {
    /// Page title.
    public var title: String
    /// (name, value) facts shown as tiles: images, groups, settings.
    public var facts: [(name: String, value: String)]
    /// The sections in order.
    public var sections: [ReviewSection]
    /// Side of a thumbnail in pixels.
    public var thumbnailSize: Int

    /// A page of `sections`.
    public init(title: String, facts: [(name: String, value: String)], sections: [ReviewSection], thumbnailSize: Int = 64) {
        self.title = title; self.facts = facts; self.sections = sections; self.thumbnailSize = thumbnailSize
    }

    /// Extra rules on top of the report's stylesheet for rows of thumbnails.
    static let styleSheet = """
    .row { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; margin: 0 0 10px; }
    .row .label { width: 90px; color: var(--muted); font-size: 12px; padding-top: 4px; }
    .thumb { margin: 0; text-align: center; }
    .thumb img { display: block; image-rendering: pixelated; border: 1px solid var(--line); }
    .thumb figcaption { font-size: 11px; margin: 0; max-width: none; }
    """

    /// The whole page.
    public func html() throws -> String {
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(HTML.escape(title))</title>\n<style>\n\(HTML.styleSheet)\n\(Self.styleSheet)\n</style>\n</head>\n"
        page += "<body>\n<main>\n<header><h1>\(HTML.escape(title))</h1></header>\n<div class=\"summary\">\n"
        for fact in facts {
            page += "<div class=\"stat\"><div class=\"value\">\(HTML.escape(fact.value))</div>"
            page += "<div class=\"name\">\(HTML.escape(fact.name))</div></div>\n"
        }
        page += "</div>\n"
        for section in sections { page += try sectionHTML(section) }
        page += "<footer>Written by <code>invprop curate</code>; self-contained: it needs no network access. "
        page += "Hover over an image for its file path.</footer>\n</main>\n</body>\n</html>\n"
        return page
    }

    /// A section: its heading, note and rows of thumbnails.
    func sectionHTML(_ section: ReviewSection) throws -> String {
        var html = "<h2>\(HTML.escape(section.title))</h2>\n<p class=\"subtitle\">\(HTML.escape(section.note))</p>\n"
        if section.rows.allSatisfy({ $0.images.isEmpty }) { return html + "<p class=\"empty\">None.</p>\n" }
        for row in section.rows where !row.images.isEmpty {
            html += "<div class=\"row\"><div class=\"label\">\(HTML.escape(row.label))</div>\n"
            for item in row.images { html += try thumbnailHTML(item) }
            html += "</div>\n"
        }
        return html
    }

    /// One thumbnail: the image scaled to `thumbnailSize` (nearest neighbour), its caption, its path as the tooltip.
    func thumbnailHTML(_ item: ReviewImage) throws -> String {
        let rgb = try Montage.scaledRGB(item.image, size: thumbnailSize, row: 0, column: 0)
        let png = try PNGCodec.encode(DecodedImage(height: thumbnailSize, width: thumbnailSize, channels: 3, pixels: rgb))
        let path = HTML.escape(item.path)
        return "<figure class=\"thumb\" title=\"\(path)\"><img src=\"data:image/png;base64,\(Data(png).base64EncodedString())\" "
            + "width=\"\(thumbnailSize)\" height=\"\(thumbnailSize)\" alt=\"\(path)\">"
            + "<figcaption>\(HTML.escape(item.caption))</figcaption></figure>\n"
    }
}
