"""The Binance-compatible API: any Binance client trades the paper account unchanged.

The contract is Binance's own (paths, parameters, HMAC signing, response shapes, error
codes, weight headers), as ccxt and python-binance use it; docs/API.md lists the routes.
Pure modules (errors, signing, params, shapes) hold the rules; views/ are thin.
"""
