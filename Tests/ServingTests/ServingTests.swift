import Foundation
import Testing
import TestSupport

/// Both servers at once, checked from outside: against the OpenAPI document (Python's
/// openapi-spec-validator and jsonschema), and in a real browser (Selenium driving Debian's
/// Chromium), which draws digits on the page and fills the house form. Screenshots go to
/// `artifacts/screenshots/`. Skipped with the reason when the tools are missing; under CI
/// (which installs them) their absence is a failure.
@Suite("Serving, checked from outside", .serialized)
struct ServingTests {
    static func pythonHas(_ modules: String) -> Bool {
        if runningUnderCI { return true }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import \(modules)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static let openAPIToolsPresent = pythonHas("yaml, jsonschema, openapi_spec_validator")
    static let browserPresent = pythonHas("selenium")
        && (runningUnderCI || FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"))

    @Test("Every answer, good or bad, matches apps/openapi.yaml",
          .enabled(if: openAPIToolsPresent, "python3 lacks PyYAML, jsonschema or openapi-spec-validator"))
    func openAPI() throws {
        let digits = try ServerProcess("digits", ["--model", "data/models/digits.safetensors"])
        let house = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors"])
        let result = try runPython("Tests/openapi/check_openapi.py", [digits.baseURL, house.baseURL, repositoryRoot])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("responses conform"), "\(result.output)")
    }

    @Test("In Chromium: a drawn 7 and a small 0 in a corner are read right; the house form gives a finite price",
          .enabled(if: browserPresent, "needs Debian's chromium and chromium-driver and python3's selenium"))
    func pagesInBrowser() throws {
        let digits = try ServerProcess("digits", ["--model", "data/models/digits.safetensors"])
        let house = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors"])
        let shots = repositoryRoot + "/artifacts/screenshots"
        let result = try runPython("Tests/browser/check_pages.py", [digits.baseURL, house.baseURL, shots])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("pages: both work in Chromium"), "\(result.output)")
        for name in ["digits-seven.png", "digits-small-zero.png", "house-price-form.png"] {
            #expect(FileManager.default.fileExists(atPath: shots + "/" + name), "\(name)")
        }
    }
}
