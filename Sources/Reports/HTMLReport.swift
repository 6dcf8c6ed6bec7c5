import Foundation

/// A self-contained HTML report: inline styles, inline SVG charts and inline (data-URI) images,
/// no script or external asset, readable offline and printable. Sections are added in order.
public struct HTMLReport: Sendable {
    public var title: String
    public var subtitle: String
    /// While a long run writes the report, the page reloads itself every this many seconds.
    public var refreshSeconds: Int?
    private var body = ""

    public init(title: String, subtitle: String = "", refreshSeconds: Int? = nil) {
        (self.title, self.subtitle, self.refreshSeconds) = (title, subtitle, refreshSeconds)
    }

    /// Headline numbers, each with a machine-readable key (`data-key`) and its exact value
    /// (`data-value`), which tests compare with the JSON of the same run.
    public mutating func headline(_ numbers: [(key: String, label: String, value: Double, shown: String)]) {
        body += "<dl class=\"headline\">"
        for number in numbers {
            body += "<div><dt>\(SVG.escape(number.label))</dt><dd data-key=\"\(SVG.escape(number.key))\" data-value=\"\(number.value)\">\(SVG.escape(number.shown))</dd></div>"
        }
        body += "</dl>\n"
    }

    public mutating func section(_ heading: String, id: String? = nil, note: String? = nil) {
        body += "<h2\(id.map { " id=\"\(SVG.escape($0))\"" } ?? "")>\(SVG.escape(heading))</h2>\n"
        if let note { body += "<p class=\"note\">\(SVG.escape(note))</p>\n" }
    }

    public mutating func paragraph(_ text: String) { body += "<p>\(SVG.escape(text))</p>\n" }

    /// Raw HTML from this module's charts and builders (already escaped).
    public mutating func append(html: String) { body += html }

    /// A table; `numeric` columns are right-aligned.
    public mutating func table(header: [String], rows: [[String]], numeric: Set<Int> = []) {
        body += "<table><thead><tr>" + header.enumerated().map { "<th\(numeric.contains($0) ? " class=\"num\"" : "")>\(SVG.escape($1))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows {
            body += "<tr>" + row.enumerated().map { "<td\(numeric.contains($0) ? " class=\"num\"" : "")>\(SVG.escape($1))</td>" }.joined() + "</tr>"
        }
        body += "</tbody></table>\n"
    }

    /// An `<img>` of PNG bytes, inline; `pixelated` keeps small images (28×28) sharp when enlarged.
    public static func image(png bytes: [UInt8], alt: String, width: Int, pixelated: Bool = false) -> String {
        "<img src=\"data:image/png;base64,\(Data(bytes).base64EncodedString())\" alt=\"\(SVG.escape(alt))\" width=\"\(width)\"\(pixelated ? " class=\"pixelated\"" : "")>"
    }

    public var html: String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        \(refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")<link rel="icon" href="data:,">
        <title>\(SVG.escape(title))</title>
        <style>
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#fff}
        main{max-width:980px;margin:0 auto;padding:24px 20px 48px}
        h1{font-size:1.4rem;margin:0 0 2px}h2{font-size:1.1rem;margin:32px 0 8px;border-bottom:1px solid #eaecf0;padding-bottom:4px}
        .subtitle,.note{color:#667085;margin:0 0 12px}
        .headline{display:flex;flex-wrap:wrap;gap:12px 28px;margin:16px 0}.headline div{min-width:110px}
        .headline dt{color:#667085;font-size:.85rem}.headline dd{margin:0;font-size:1.5rem;font-weight:700}
        figure.chart{margin:12px 0 20px;max-width:700px}figure.chart svg{width:100%;height:auto;display:block}
        figcaption{color:#475467;font-size:.88rem;margin-top:4px}
        table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
        th,td{padding:3px 10px;border-bottom:1px solid #eaecf0;text-align:left}td.num,th.num{text-align:right}
        .gallery{display:flex;flex-wrap:wrap;gap:10px}.gallery .item{border:1px solid #eaecf0;border-radius:8px;padding:6px;width:200px;font-size:.8rem}
        .gallery .pair{display:flex;gap:6px;align-items:center}.gallery img{background:#f2f4f7;border-radius:4px}
        img.pixelated{image-rendering:pixelated}.group{margin:14px 0 4px;font-weight:600}
        @media print{main{max-width:none}a{color:inherit;text-decoration:none}h2{break-after:avoid}figure,.item{break-inside:avoid}}
        </style></head><body><main>
        <h1>\(SVG.escape(title))</h1><p class="subtitle">\(SVG.escape(subtitle))</p>
        \(body)</main></body></html>
        """
    }
}
