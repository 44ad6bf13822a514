/**
 * http-01 with a built-in responder: listens on the configured address (e.g. behind a load
 * balancer forwarding /.well-known/acme-challenge/) only while an issuance runs, and answers the
 * CA's requests for the tokens it was given (RFC 8555 §8.3).
 */
import { createServer, Server } from "node:http";
import { CertstageError } from "../../errors";
import type { ChallengeSolver, ChallengeTask } from "./solver";

const PREFIX = "/.well-known/acme-challenge/";

export async function startHttp01Responder(address: string): Promise<ChallengeSolver> {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!match) {
    throw new CertstageError("INPUT_SCHEMA", `'${address}' is not host:port`, { field: "challenge.listen", fix: "use an address such as 0.0.0.0:80 or 127.0.0.1:5002" });
  }
  const answers = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const token = request.url?.startsWith(PREFIX) ? request.url.slice(PREFIX.length) : undefined;
    const answer = token === undefined ? undefined : answers.get(token);
    response.writeHead(answer === undefined ? 404 : 200, { "content-type": "text/plain" });
    response.end(answer ?? "");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (cause) =>
      reject(new CertstageError("CHALLENGE_FAILED", `cannot listen on ${address} for http-01 (${(cause as NodeJS.ErrnoException).code})`, {
        field: "challenge.listen",
        fix: "free the port, or run with the privileges to bind it, or use challenge.webroot",
        cause,
      })),
    );
    server.listen(Number(match[2]), match[1].replace(/^\[|\]$/g, ""), resolve);
  });
  return {
    type: "http-01",
    async present(task: ChallengeTask) {
      answers.set(task.token, task.answer);
    },
    async cleanUp(task: ChallengeTask) {
      answers.delete(task.token);
    },
    // close() alone waits for every open connection to end, and a CA's validator may leave one
    // that never sends a request (Go's HTTP client dials a spare connection and keeps it idle):
    // Node keeps such a socket for minutes, so an issuance that had finished hung in close(), and
    // the port stayed taken. Nothing is left to answer once the issuance is over.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
