/// Escaping for text and attribute values in HTML and inline SVG.
enum HTML {
    /// `text` with `& < > " '` replaced by entities, safe in element content and quoted attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The page's stylesheet: a light theme, a two-column chart grid at desktop widths.
    static let styleSheet = """
    :root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --accent: #0072B2; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
           color: var(--ink); background: #fff; }
    main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
    header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 18px; }
    h1 { margin: 0 0 4px; font-size: 26px; }
    h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
    h3 { font-size: 14px; margin: 0 0 6px; }
    .subtitle { color: var(--muted); }
    .subtitle b { color: var(--ink); font-weight: 600; }
    .path { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
    .summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
    .stat { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
    .stat .value { font-size: 20px; font-weight: 600; }
    .stat .name { color: var(--muted); font-size: 12px; }
    .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
    .card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 6px; min-width: 0; }
    svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
    svg.chart .grid { stroke: #e6eaef; stroke-width: 1; }
    svg.chart .axis { stroke: #59636e; stroke-width: 1; }
    svg.chart .tick { font-size: 11px; fill: #59636e; }
    svg.chart .label { font-size: 12px; fill: #1f2328; }
    svg.chart .legend { font-size: 12px; fill: #1f2328; }
    .empty { color: var(--muted); font-style: italic; padding: 40px 0; text-align: center; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { background: var(--panel); font-weight: 600; }
    td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
    .file { color: var(--muted); font-size: 11px; display: block; }
    .details { color: var(--muted); font-size: 12px; max-width: 420px; overflow-wrap: anywhere; }
    table.config { width: auto; min-width: 50%; }
    table.config td { border-bottom: 1px solid #eef1f4; padding: 3px 12px; }
    table.config td.key { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
    table.config tr.group td.key { font-weight: 700; padding-top: 8px; }
    table.config td.value { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px;
                            overflow-wrap: anywhere; }
    .montages { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
    figure { margin: 0; max-width: 100%; }
    figure img { display: block; max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid var(--line); }
    figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: 560px; }
    footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
    """
}
