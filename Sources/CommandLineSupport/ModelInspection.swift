import ModelFile

/// `inspect`, shared by both tools: the model file's report as text or one JSON object.
public enum ModelInspection {
    /// Loads the model at `path` and prints its report.
    public static func printReport(path: String, json: Bool) throws {
        let report = ModelReport(try ModelFile.load(contentsOf: path))
        print(json ? Console.json(report.dictionary) : report.text)
    }
}
