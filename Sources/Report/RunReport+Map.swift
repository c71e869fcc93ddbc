import Foundation

extension RunReport {
    /// Colours of the first ten labels (Tableau 10), repeated beyond; unlabelled points are grey.
    static let labelPalette = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F",
                               "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"]

    /// Rules for the map: points are absolutely placed dots; hovering one shows its thumbnail above the others.
    static let mapStyleSheet = """
    .map { position: relative; width: min(100%, 640px); aspect-ratio: 1 / 1; border: 1px solid var(--line); margin: 8px 0; }
    .map .pt { position: absolute; width: 6px; height: 6px; margin: -3px 0 0 -3px; border-radius: 50%; opacity: 0.75; }
    .map .pt img { display: none; position: absolute; left: 8px; top: 8px; width: 64px; height: 64px;
                   image-rendering: pixelated; border: 2px solid #fff; box-shadow: 0 0 4px #000; }
    .map .pt:hover { z-index: 10; opacity: 1; outline: 2px solid var(--ink); }
    .map .pt:hover img { display: block; }
    .legend-row { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; color: var(--muted); }
    .legend-row i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
    """

    /// The 2-D PCA map of the embeddings, with both axes on one scale (distances read truly);
    /// each point shows its image on hover. No script: CSS only.
    func mapSection() -> String {
        var html = "<h2 id=\"map\">Embedding map</h2>\n"
        guard let map, !map.points.isEmpty else {
            return html + "<p class=\"empty\">No embedding map (run <code>invprop report RUN_DIR</code> with the run's checkpoint present).</p>\n"
        }
        let share = map.explainedVariance.map { String(format: "%.1f %%", 100 * $0) } + ["?", "?"]
        html += "<p class=\"subtitle\">\(map.points.count) training images, \(HTML.escape(map.source)) (L2-normalised), on the first "
        html += "two principal axes: PC1 across (\(share[0]) of the variance), PC2 down (\(share[1])); colour: label. "
        html += "Hover over a point to see its image.</p>\n<style>\n\(Self.mapStyleSheet)\n</style>\n<div class=\"map\">\n"
        let xs = map.points.map(\.x), ys = map.points.map(\.y)
        let span = max(xs.max()! - xs.min()!, ys.max()! - ys.min()!, 1e-12)
        let (centreX, centreY) = ((xs.max()! + xs.min()!) / 2, (ys.max()! + ys.min()!) / 2)
        for point in map.points {
            // Both axes on one scale, centred, within 3 %…97 % of the square.
            let left = 50 + 94 * (point.x - centreX) / span, top = 50 + 94 * (point.y - centreY) / span
            let colour = point.label.map { Self.labelPalette[$0 % Self.labelPalette.count] } ?? "#8a8f98"
            let title = "image \(point.index)" + (point.label.map { ", label \($0)" } ?? "")
            let position = String(format: "left:%.2f%%;top:%.2f%%", left, top)
            html += "<span class=\"pt\" style=\"\(position);background:\(colour)\" title=\"\(title)\">"
            if let thumbnail = point.thumbnail { html += "<img src=\"data:image/png;base64,\(thumbnail)\" alt=\"\">" }
            html += "</span>\n"
        }
        html += "</div>\n"
        let labels = Set(map.points.compactMap(\.label)).sorted()
        if !labels.isEmpty {
            html += "<div class=\"legend-row\">"
            for label in labels { html += "<span><i style=\"background:\(Self.labelPalette[label % Self.labelPalette.count])\"></i>label \(label)</span>" }
            html += "</div>\n"
        }
        return html
    }
}
