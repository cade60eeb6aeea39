// CloudFront Function (runtime cloudfront-js-2.0), viewer request of the default behaviour: every path that is not
// the API, audio or (when enabled) the try-it page ends here with a 404, before any origin sees it.
// infra/cdn.py fills in ALLOWED (exact paths the default behaviour may pass on: "/" for the try-it page, or none).
var ALLOWED = __ALLOWED__;

function handler(event) {
    var request = event.request;
    if (ALLOWED.indexOf(request.uri) !== -1) {
        return request;
    }
    return {
        statusCode: 404,
        statusDescription: 'Not Found',
        headers: {
            'content-type': { value: 'application/json' },
            'cache-control': { value: 'no-store' }
        },
        body: { encoding: 'text', data: '{"detail":"not found"}' }
    };
}
