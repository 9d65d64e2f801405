'use strict';
// `npm start`: compile with SWC only when dist/ is stale, then run the service in this same process, so the
// SIGINT or SIGTERM that stops `npm start` reaches the service itself and no second process holds the port.
require('./build.js').ensureBuilt();
require('../dist/src/main.js');
