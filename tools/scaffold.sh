#!/usr/bin/env bash
# Creates the package, tsconfig and Nx project files of one lib or app.
# usage: tools/scaffold.sh libs|apps NAME "type:x,scope:y" "dep1 dep2"
set -euo pipefail
kind=$1 name=$2 tags=$3 deps=${4:-}
dir=$kind/$name
mkdir -p "$dir/src"
refs=""; pdeps=""
for d in $deps; do
  refs="$refs{ \"path\": \"../../libs/$d\" },"
  pdeps="$pdeps\"@tidemark/$d\": \"*\","
done
refs=${refs%,}; pdeps=${pdeps%,}
cat > "$dir/package.json" <<JSON
{
  "name": "@tidemark/$name",
  "version": "0.1.0",
  "private": true,
  "main": "dist/index.js",
  "types": "dist/index.d.ts",
  "exports": { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" }, "./package.json": "./package.json" },
  "dependencies": { $pdeps }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist", "tsBuildInfoFile": "dist/tsconfig.tsbuildinfo" },
  "include": ["src/**/*.ts"],
  "references": [ $refs ]
}
JSON
tagjson=$(echo "$tags" | sed 's/,/", "/g')
cat > "$dir/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "$( [ "$kind" = apps ] && echo application || echo library )",
  "tags": ["$tagjson"],
  "targets": {
    "build": { "command": "tsc -b $dir/tsconfig.json", "outputs": ["{projectRoot}/dist"], "cache": true },
    "test": { "command": "node tools/test.mjs --project $dir", "dependsOn": ["build"] }
  }
}
JSON
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
