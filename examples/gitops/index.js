// The whole Pulumi program: the certificates, their versions and what each environment serves
// are declared in certificates.yaml. Check it before a preview with `npx certstage lint certificates.yaml`.
const { Manifest } = require("certstage");

new Manifest("certificates", { file: "certificates.yaml" });
