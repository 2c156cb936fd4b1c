// Empty: Node's built-in `fs` is what epcis2.js really uses.
