import ModelFile

/// `inspect`, shared by both tools: the model file's report as text or one JSON object.
public enum ModelInspection {
    /// Loads the model at `path` and prints its report; errors name the file.
    public static func printReport(path: String, json: Bool) throws {
        let loaded: ModelFile.Loaded
        do {
            loaded = try ModelFile.load(contentsOf: path)
        } catch {
            throw CommandLineError("\(path): \(error.reason)")
        }
        let report = ModelReport(loaded)
        try Console.output(json ? Console.json(report.dictionary) : report.text)
    }
}
