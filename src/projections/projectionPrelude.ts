/**
 * The part of the embedded projection runtime that runs inside the projection's
 * `node:vm` context: the definition API of EventStoreDB's projection language
 * (selectors, `when`, `foreachStream`, `partitionBy`, `outputState`, `options`)
 * and the driver that feeds a batch of events to the handlers.
 *
 * It runs in the context so that every object a handler sees (states, event
 * bodies) belongs to the context's realm, as in EventStoreDB, and so that one
 * `vm` call with a timeout covers a whole batch: a `vm` timeout costs ~170 µs
 * per call, a plain call into the context ~0.03 µs.
 *
 * The text is ES5 and is evaluated as a function expression taking the host
 * bridge; it returns the driver. Semantics follow EventStoreDB's Jint runtime
 * (`JintProjectionStateHandler`): `$init` is called without arguments and
 * defaults to `{}`; a handler returning `undefined` keeps the (mutated) state,
 * any other value replaces it; a bi-state handler gets and returns
 * `[partitionState, sharedState]`; a stored `null` state is initialised again.
 */
export const projectionPrelude = String.raw`
(function (host) {
  'use strict';
  var global = globalThis;
  var def = {
    source: null,
    partitioning: 'none',
    partitionBy: null,
    handlers: {},
    handlerTypes: [],
    init: null,
    initShared: null,
    any: null,
    created: null,
    deleted: null,
    biState: false,
    outputState: false,
    options: {},
    resultStreamName: null,
    transforms: 0,
    usedWhen: false
  };
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  var next = {
    fromStream: ['when', 'partitionBy', 'outputState'],
    fromAll: ['when', 'partitionBy', 'outputState', 'foreachStream'],
    fromStreams: ['when', 'partitionBy', 'outputState'],
    fromCategory: ['when', 'partitionBy', 'outputState', 'foreachStream'],
    when: ['transformBy', 'filterBy', 'outputState', 'outputTo', '$defines_state_transform'],
    foreachStream: ['when'],
    outputState: ['transformBy', 'filterBy', 'outputTo'],
    partitionBy: ['when'],
    transformBy: ['transformBy', 'filterBy', 'outputState', 'outputTo'],
    filterBy: ['transformBy', 'filterBy', 'outputState', 'outputTo'],
    outputTo: []
  };
  var methods = {};
  function chain(step) {
    var o = {};
    var names = next[step];
    for (var i = 0; i < names.length; i++) o[names[i]] = methods[names[i]];
    return o;
  }
  function select(source) {
    if (def.source !== null) throw new Error('a projection has one selector; found a second one (' + source.type + ')');
    def.source = source;
  }
  function strings(args, what) {
    var list = args.length === 1 && Array.isArray(args[0]) ? args[0] : Array.prototype.slice.call(args);
    if (list.length === 0) throw new Error(what + ': at least one name is required');
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'string' || list[i] === '') throw new Error(what + ': names must be non-empty strings, got ' + JSON.stringify(list[i]));
    }
    return list.slice();
  }

  var selectors = {
    fromAll: function () { select({ type: 'all' }); return chain('fromAll'); },
    fromCategory: function () { select({ type: 'categories', categories: strings(arguments, 'fromCategory') }); return chain('fromCategory'); },
    fromCategories: function () { select({ type: 'categories', categories: strings(arguments, 'fromCategories') }); return chain('fromCategory'); },
    fromStream: function (stream) { select({ type: 'streams', streams: strings([stream], 'fromStream') }); return chain('fromStream'); },
    fromStreams: function () { select({ type: 'streams', streams: strings(arguments, 'fromStreams') }); return chain('fromStreams'); },
    options: function (o) {
      if (o === null || typeof o !== 'object') return;
      var known = { '$includelinks': 'boolean', reorderevents: 'boolean', processinglag: 'number', resultstreamname: 'string', bistate: 'boolean' };
      for (var key in o) {
        if (!has(o, key)) continue;
        var type = known[key.toLowerCase()];
        if (type === undefined) throw new Error('Unrecognized option: ' + key);
        if (typeof o[key] !== type) throw new Error('Invalid value for option ' + key + ': expected a ' + type);
        def.options[key] = o[key];
        if (key.toLowerCase() === 'bistate') def.biState = o[key];
        if (key.toLowerCase() === 'resultstreamname') def.resultStreamName = o[key];
      }
    },
    on_event: function (type, handler) { addHandler(type, handler); },
    on_any: function (handler) { addHandler('$any', handler); }
  };

  function addHandler(name, fn) {
    if (typeof fn !== 'function') return;
    switch (name) {
      case '$init': def.init = fn; break;
      case '$initShared': def.initShared = fn; def.biState = true; break;
      case '$any': def.any = fn; break;
      case '$created': def.created = fn; break;
      case '$deleted': def.deleted = fn; break;
      default:
        if (!has(def.handlers, name)) def.handlerTypes.push(name);
        def.handlers[name] = fn;
    }
  }

  methods.when = function (handlers) {
    if (handlers !== null && typeof handlers === 'object') {
      for (var key in handlers) if (has(handlers, key)) addHandler(key, handlers[key]);
    }
    def.usedWhen = true;
    return chain('when');
  };
  methods.foreachStream = function () { def.partitioning = 'byStream'; return chain('foreachStream'); };
  methods.partitionBy = function (fn) {
    if (typeof fn !== 'function') throw new Error('partitionBy expects a function');
    def.partitioning = 'byCustomKey';
    def.partitionBy = fn;
    return chain('partitionBy');
  };
  methods.outputState = function () { def.outputState = true; return chain('outputState'); };
  methods.outputTo = function (stream) {
    if (typeof stream !== 'string') throw new Error('outputTo expects a stream name');
    def.resultStreamName = stream;
    def.outputState = true;
    return chain('outputTo');
  };
  // Result transforms change what EventStoreDB writes to result streams, not
  // the state; the embedded runtime serves states, so it records and skips them.
  methods.transformBy = function (fn) { if (typeof fn !== 'function') throw new Error('transformBy expects a function'); def.transforms += 1; def.outputState = true; return chain('transformBy'); };
  methods.filterBy = function (fn) { if (typeof fn !== 'function') throw new Error('filterBy expects a function'); def.transforms += 1; def.outputState = true; return chain('filterBy'); };
  methods.$defines_state_transform = function () { def.outputState = true; };

  var definitionNames = [];
  for (var name in selectors) {
    if (has(selectors, name)) {
      global[name] = selectors[name];
      definitionNames.push(name);
    }
  }

  function unsupported(name) {
    return function () {
      throw new Error(name + '() is not supported by the embedded projection runtime (jobtrail projections do not emit)');
    };
  }

  function describe(err) {
    if (err !== null && typeof err === 'object') {
      return {
        name: typeof err.name === 'string' ? err.name : 'Error',
        message: err.message !== undefined ? String(err.message) : String(err),
        stack: typeof err.stack === 'string' ? err.stack : undefined
      };
    }
    return { name: 'Error', message: String(err), stack: undefined };
  }

  // partition -> { state, dirty }; '' is the root partition.
  var cache = new Map();
  var shared = { loaded: false, state: undefined, dirty: false };

  function initial() { return def.init !== null ? def.init() : {}; }
  function initialShared() { return def.initShared !== null ? def.initShared() : {}; }

  function partitionEntry(partition) {
    var entry = cache.get(partition);
    if (entry !== undefined) return entry;
    var raw = host.load(partition);
    entry = { state: undefined, dirty: false, created: raw === undefined };
    entry.state = raw === undefined || raw === null ? initial() : JSON.parse(raw);
    cache.set(partition, entry);
    return entry;
  }

  function sharedState() {
    if (!shared.loaded) {
      var raw = host.loadShared();
      shared.state = raw === undefined || raw === null ? initialShared() : JSON.parse(raw);
      shared.loaded = true;
    }
    return shared.state;
  }

  // The event as handlers see it. Plain data properties (cheaper than
  // accessors); the body and metadata are parsed once per event and shared by
  // the partition function and the handler.
  function parsed(e) {
    if (e.parsed === undefined) {
      e.parsed = {
        body: e.isJson && e.bodyRaw !== '' ? JSON.parse(e.bodyRaw) : undefined,
        metadata: e.metadataRaw !== '' ? JSON.parse(e.metadataRaw) : undefined
      };
    }
    return e.parsed;
  }
  function envelope(e, partition) {
    var p = parsed(e);
    return {
      isJson: e.isJson,
      data: p.body,
      body: p.body,
      bodyRaw: e.bodyRaw,
      metadata: p.metadata,
      metadataRaw: e.metadataRaw,
      linkMetadataRaw: '',
      streamId: e.streamId,
      sequenceNumber: e.sequenceNumber,
      eventType: e.eventType,
      eventId: e.eventId,
      partition: partition,
      category: e.category
    };
  }

  function partitionOf(e) {
    if (def.partitioning === 'byStream') return e.streamId;
    if (def.partitioning === 'none') return '';
    var key = def.partitionBy(envelope(e, ''));
    if (typeof key === 'string') return key;
    if (typeof key === 'number') return String(key);
    return null;
  }

  // One event; false when it was not handled (no partition).
  function feedOne(e) {
    var partition = partitionOf(e);
    if (partition === null) return false;
    var entry = partitionEntry(partition);
    var env = envelope(e, partition);
    var handler = has(def.handlers, e.eventType) ? def.handlers[e.eventType] : def.any;
    if (def.biState) {
      var pair = [entry.state, sharedState()];
      if (entry.created && def.created !== null) def.created(pair, env);
      var out = handler !== null ? handler(pair, env) : e.bodyRaw;
      if (out === undefined) out = pair;
      if (Array.isArray(out)) {
        entry.state = out[0];
        shared.state = out[1];
      } else {
        entry.state = out;
      }
      shared.dirty = true;
    } else {
      if (entry.created && def.created !== null) def.created(entry.state, env);
      var result = handler !== null ? handler(entry.state, env) : e.bodyRaw;
      if (result !== undefined) entry.state = result;
    }
    entry.created = false;
    entry.dirty = true;
    return true;
  }

  function text(state) {
    if (state === null || state === undefined) return null;
    var json = JSON.stringify(state);
    return json === undefined ? null : json;
  }

  var driver = {
    input: [],
    current: -1,
    // Called once, after the projection's source ran.
    seal: function () {
      for (var i = 0; i < definitionNames.length; i++) delete global[definitionNames[i]];
      if (host.emits) {
        // Only where the host asked for them (a test server's runtime): each call is handed over as JSON text.
        global.emit = function (stream, eventType, body, metadata) {
          host.emit(JSON.stringify({ kind: 'emit', stream: String(stream), eventType: String(eventType), body: body, metadata: metadata }));
        };
        global.linkTo = function (stream, event, metadata) {
          host.emit(JSON.stringify({ kind: 'linkTo', stream: String(stream), target: event.sequenceNumber + '@' + event.streamId, metadata: metadata }));
        };
      } else {
        global.emit = unsupported('emit');
        global.linkTo = unsupported('linkTo');
      }
      global.linkStreamTo = unsupported('linkStreamTo');
      global.copyTo = unsupported('copyTo');
      global.log = function () {
        var parts = [];
        for (var j = 0; j < arguments.length; j++) {
          var a = arguments[j];
          parts.push(a !== null && typeof a === 'object' ? JSON.stringify(a) : String(a));
        }
        host.log(parts.join(' '));
      };
      if (def.source === null) throw new Error('the projection selects no events: call fromAll(), fromCategory(), fromStream() or fromStreams()');
      return JSON.stringify({
        source: def.source,
        partitioning: def.partitioning,
        events: def.any !== null || def.handlerTypes.length === 0 ? 'all' : def.handlerTypes,
        biState: def.biState,
        outputState: def.outputState,
        resultStreamName: def.resultStreamName,
        includeLinks: def.options.$includeLinks === true,
        handlesDeleted: def.deleted !== null,
        transforms: def.transforms
      });
    },
    // Feeds driver.input; stops at the first event whose handler throws.
    run: function () {
      var events = driver.input;
      var handled = 0;
      for (var i = 0; i < events.length; i++) {
        driver.current = i;
        try {
          if (feedOne(events[i])) handled += 1;
        } catch (err) {
          driver.current = -1;
          return { handled: handled, failedAt: i, error: describe(err) };
        }
      }
      driver.current = -1;
      return { handled: handled, failedAt: -1, error: null };
    },
    // The states changed since the last call, as JSON text (null: no state).
    takeChanges: function () {
      var partitions = [];
      cache.forEach(function (entry, partition) {
        if (entry.dirty) {
          partitions.push([partition, text(entry.state)]);
          entry.dirty = false;
        }
      });
      var out = { partitions: partitions, shared: undefined };
      if (shared.dirty) {
        out.shared = text(shared.state);
        shared.dirty = false;
      }
      return out;
    },
    // Drops cached states: every one after a discarded batch, else all but the root and shared ones.
    forget: function (all) {
      if (all) {
        cache = new Map();
        shared = { loaded: false, state: undefined, dirty: false };
        return;
      }
      var root = cache.get('');
      cache = new Map();
      if (root !== undefined) cache.set('', root);
    }
  };
  return driver;
})
`;
