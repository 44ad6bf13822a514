/**
 * `certstage agent --metrics-listen`: the agent serves on GET /metrics what `certstage metrics
 * --environment <its environment>` prints, plus when its last pass succeeded; a new deployment
 * shows at the next scrape. Bad addresses, one already taken, and --once are refused with exit
 * 2 before anything is installed. No private key appears in what it serves.
 */
import * as http from "node:http";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { agentFixture, certstage, linkedVersion, spawnAgent, waitFor } from "./agent-support";

function get(url: string, method = "GET"): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request(url, { method }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += String(chunk)));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, type: response.headers["content-type"], body }));
      })
      .on("error", reject)
      .end();
  });
}

const sample = (text: string, pattern: string): string | undefined => new RegExp(`^${pattern} (\\S+)$`, "m").exec(text)?.[1];

describe("certstage agent --metrics-listen", () => {
  it("serves the environment's metrics and its last sync on GET /metrics, current at every scrape", async () => {
    const fixture = await agentFixture("metrics-listen", 2);
    await fixture.deploy(1);
    await fixture.store.deploy("api", "staging", 2, { principal: "agent-test@ci" });
    const agent = spawnAgent(["--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory, "--poll-interval", "50ms", "--agent-id", "edge-1", "--metrics-listen", "127.0.0.1:0"]);
    try {
      const log = await agent.waitForLog(/serving metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
      const url = /serving metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(log)![1];
      await waitFor("version 1 installed", () => (linkedVersion(fixture.directory) === 1 ? true : undefined));
      const first = await waitFor("a scrape showing the first sync", async () => {
        const scraped = await get(url);
        return sample(scraped.body, 'certstage_agent_last_sync_timestamp_seconds\\{environment="production",agent_id="edge-1"\\}') === undefined ? undefined : scraped;
      });
      expect(first.status).toBe(200);
      expect(first.type).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(sample(first.body, 'certstage_deployment_version\\{certificate="api",environment="production"\\}')).toBe("1");
      // Only its own environment: staging's deployment is not there.
      expect(first.body).not.toContain('environment="staging"');
      const notAfter = Date.parse(fixture.materials[0].facts.notAfter) / 1000;
      expect(first.body).toMatch(new RegExp(`^certstage_certificate_not_after_timestamp_seconds\\{certificate="api",environment="production",version="1",serial_number="[^"]+"\\} ${notAfter}$`, "m"));
      expect(first.body).toMatch(/^# TYPE certstage_last_check_timestamp_seconds gauge$/m);

      await fixture.deploy(2);
      const second = await waitFor("a scrape showing version 2 served", async () => {
        const scraped = await get(url);
        return sample(scraped.body, 'certstage_deployment_version\\{certificate="api",environment="production"\\}') === "2" ? scraped : undefined;
      });
      expect(second.body).toMatch(/^certstage_certificate_latest_healthy_version\{certificate="api",environment="production"\} 2$/m);
      expect((await get(url.replace("/metrics", "/"))).status).toBe(404);
      expect((await get(url, "POST")).status).toBe(405);
      expectNoPrivateKeyMaterial(`${first.body}${second.body}${agent.log()}`, fixture.materials.map((material) => material.privateKeyPem), "the agent's /metrics");
      expect(await agent.stop()).toBe(0);
    } finally {
      await agent.kill();
    }
  });

  it("refuses an address it cannot use, or --once, with exit 2 and METRICS_LISTEN_INVALID / CONFIG_INVALID, installing nothing", async () => {
    const fixture = await agentFixture("metrics-listen-bad", 1);
    await fixture.deploy(1);
    const base = ["agent", "--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory];
    const notAddress = await certstage([...base, "--metrics-listen", "9793"]);
    expect(notAddress.code).toBe(2);
    expect(notAddress.stderr).toContain(`[METRICS_LISTEN_INVALID] field '--metrics-listen': --metrics-listen "9793": it is not host:port. Fix: give host:port to listen on, e.g. 127.0.0.1:9793`);
    const tooHigh = await certstage([...base, "--metrics-listen", "127.0.0.1:70000"]);
    expect(tooHigh.stderr).toContain("port 70000 is above 65535");
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const busy = await certstage([...base, "--metrics-listen", `127.0.0.1:${port}`]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`[METRICS_LISTEN_INVALID] field '--metrics-listen': --metrics-listen "127.0.0.1:${port}": cannot listen there (EADDRINUSE)`);
    } finally {
      taken.close();
    }
    const once = await certstage([...base, "--once", "--metrics-listen", "127.0.0.1:0"]);
    expect(once.code).toBe(2);
    expect(once.stderr).toContain("[CONFIG_INVALID] field '--metrics-listen'");
    expect(linkedVersion(fixture.directory)).toBeUndefined();
  });
});
