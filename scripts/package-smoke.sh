#!/usr/bin/env bash
# Packs the library, installs the tarball into a scratch consumer CDK app and synthesizes a stack built from
# the package's constructs: proves `files`, `main`/`types` and runtime dependencies are right.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
[ -f dist/lib/index.js ] || npm run build
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

cd "$work"
cat > package.json <<'JSON'
{ "name": "consumer", "version": "1.0.0", "private": true }
JSON
cdk_lib_version="$(node -p "require('$root/node_modules/aws-cdk-lib/package.json').version")"
constructs_version="$(node -p "require('$root/node_modules/constructs/package.json').version")"
npm install --no-audit --no-fund --prefer-offline "./$tarball" "aws-cdk-lib@$cdk_lib_version" "constructs@$constructs_version" >/dev/null

cat > app.js <<'JS'
const { App, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const mlops = require('cdk-mlops');
const app = new App();
const stack = new Stack(app, 'Consumer');
const network = new mlops.PlatformNetwork(stack, 'Network', { natGateways: 0 });
const lake = new mlops.DataLake(stack, 'Lake');
const registry = new mlops.ImageRegistry(stack, 'Registry');
new mlops.AlertsTopic(stack, 'Alerts');
// A consumer role granted through the constructs: their wildcard acknowledgements must reach a plain cdk-nag plugin.
const { Role, ServicePrincipal } = require('aws-cdk-lib/aws-iam');
const trainer = new Role(stack, 'Trainer', { assumedBy: new ServicePrincipal('sagemaker.amazonaws.com') });
lake.grantReadData(trainer);
lake.grantWriteArtifacts(trainer);
registry.grantPull(trainer);
Validations.of(app).addPlugins(new AwsSolutionsChecks());
const assembly = app.synth();
const template = assembly.getStackByName('Consumer').template;
const types = Object.values(template.Resources).map((r) => r.Type);
for (const t of ['AWS::EC2::VPC', 'AWS::S3::Bucket', 'AWS::ECR::Repository', 'AWS::SNS::Topic']) {
  if (!types.includes(t)) throw new Error(`consumer stack lacks ${t}`);
}
const failures = mlops.failedValidations(assembly);
if (failures.length) throw new Error(`cdk-nag findings in the consumer app:\n${failures.join('\n')}`);
if (!network.vpc || !lake.artifactsBucket || !registry.repositories.training) throw new Error('construct fields missing');
console.log(`consumer app synthesized ${types.length} resources from cdk-mlops with zero cdk-nag findings`);
JS
CDK_OUTDIR="$work/cdk.out" node app.js
test -f node_modules/cdk-mlops/dist/lib/index.d.ts

# The operations CLI from the packed install: help works, and a command without a stage is a usage error (2).
npx --no-install cdk-mlops --help | grep -q 'Usage: cdk-mlops <command>'
npx --no-install cdk-mlops status --help >/dev/null
set +e; npx --no-install cdk-mlops status >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || { echo "cdk-mlops status without --stage exited $rc, expected 2"; exit 1; }
echo "npx cdk-mlops --help works from the packed install"

# Handlers ship pre-bundled: the consumer has no bundler or handler dependencies, and a handler's code resolves to
# the shipped bundle (the package holds no handler sources to bundle from).
for dep in esbuild @aws-lambda-powertools/logger; do
  [ ! -d "node_modules/$dep" ] || { echo "consumer install pulled in $dep"; exit 1; }
done
test ! -e node_modules/cdk-mlops/lambda/model-approval/index.ts
CDK_OUTDIR="$work/cdk.out.handler" node -e "
const { App, Stack } = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const { handlerCode } = require('cdk-mlops/dist/constructs/core/handler-code.js');
const stack = new Stack(new App(), 'Handler');
new lambda.Function(stack, 'Fn', { code: handlerCode('model-approval'), handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
stack.node.root.synth();
"
echo "handlers resolve to the shipped bundles; consumer node_modules: $(du -sm node_modules | cut -f1) MB"
