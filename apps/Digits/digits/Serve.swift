import ArgumentParser
import CommandLineSupport
import DigitsKit
import DigitsService

extension Digits {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the model over HTTP: a JSON API and a page to draw a digit on.",
            discussion: """
            Routes: GET / (the page), POST /v1/classify (image/png, or multipart/form-data with \
            several files; ?top=K, ?input=1), GET /v1/model, /healthz, /readyz, /metrics. One model, \
            loaded at start, serves every request; the network's part of concurrent requests runs \
            in shared batches. Bad input gets a 4xx with {"error": ...}. SIGTERM or Ctrl-C lets the \
            requests in flight finish, then exits 0. See README.md, "Serving".
            """)

        @OptionGroup var model: ModelOptions
        @OptionGroup var serve: ServeOptions
        @OptionGroup var threads: ThreadOptions

        func run() throws {
            let classifier = try DigitClassifier(contentsOf: try model.path())
            try ServeOptions.run(DigitsService.server(classifier: classifier, configuration: serve.configuration,
                                                      threads: threads.threads), name: "digits")
        }
    }
}
