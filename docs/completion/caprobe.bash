# bash completion for caprobe(1): options, their words (formats, severities, STARTTLS protocols,
# TLS versions), the rule ids of --explain (asked of caprobe --explain all), file names where an
# option takes a file, and the report, diff, netsh and exporter commands. Needs nothing but bash.
# tests/integration/test_completion.py checks it against the parsers and caprobe's messages.

_caprobe_opts='-i -p -o -q -c -h -V -4 -6
--input --ports --resolve --sni --request --tls --client-hello --format --output
--quiet --concurrency --timeout --capture-limit --fail-on-error --per-address --rate
--connect-timeout --handshake-timeout --retries --shard --max-cidr --starttls --progress --color
--names --no-progress --expect-ca --client-cert --client-key --client-key-password-file
--public-roots --fail-on --explain --policy --baseline --netsh --dns-server --dns-timeout
--dns-concurrency --ipv4 --ipv6 --help --version'
_caprobe_report_opts='-o -h --baseline --format --names --targets --output --help'
_caprobe_diff_opts='-h --format --names --help'
_caprobe_netsh_opts='-h --previous --format --help'
_caprobe_exporter_opts='-q -h --listen --config --check --quiet --help'

# Rule ids, from the caprobe being completed (its first lines per rule: "ID (default ...").
_caprobe_rules()
{
    "$1" --explain all 2>/dev/null | sed -n 's/^\([a-z0-9-][a-z0-9-]*\) (default severity .*/\1/p'
}

# File names starting with $1; $2 is the "--opt=" in front of them when that is one word ('='
# not in COMP_WORDBREAKS): it stays in front of each, and folders get their '/' here, as
# -o filenames would look for a folder named by the whole word.
_caprobe_files()
{
    local IFS=$'\n' f
    if [ -z "$2" ]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$1"))
        return
    fi
    COMPREPLY=()
    for f in $(compgen -f -- "$1"); do
        [ -d "$f" ] && f=$f/ && compopt -o nospace 2>/dev/null
        COMPREPLY+=("$2$f")
    done
}

_caprobe()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=caprobe eq= pfx=
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case ${COMP_WORDS[1]} in
    report | diff | netsh | exporter) [ "$COMP_CWORD" -gt 1 ] && cmd=${COMP_WORDS[1]} ;;
    esac
    # --opt=value: one word, or three where COMP_WORDBREAKS holds '=' (bash's default)
    if [[ $cur == --*=* ]]; then
        pfx=${cur%%=*}= prev=${cur%%=*} cur=${cur#*=} eq=1
    elif [ "$cur" = = ] && [[ $prev == --* ]]; then
        cur= eq=1
    elif [ "$prev" = = ] && [ "$COMP_CWORD" -gt 1 ]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]} eq=1
    elif [[ $cur == -* ]]; then
        case $cmd in
        caprobe) COMPREPLY=($(compgen -W "$_caprobe_opts" -- "$cur")) ;;
        report) COMPREPLY=($(compgen -W "$_caprobe_report_opts" -- "$cur")) ;;
        diff) COMPREPLY=($(compgen -W "$_caprobe_diff_opts" -- "$cur")) ;;
        netsh) COMPREPLY=($(compgen -W "$_caprobe_netsh_opts" -- "$cur")) ;;
        exporter) COMPREPLY=($(compgen -W "$_caprobe_exporter_opts" -- "$cur")) ;;
        esac
        return 0
    fi
    # --color takes its word only as --color=WORD
    [ "$prev" = --color ] && [ -z "$eq" ] && prev=
    local words=
    case $cmd:$prev in
    caprobe:--format) words='text oneline jsonl jsonl-compact sarif junit openmetrics' ;;
    report:--format) words='text markdown csv html' ;;
    diff:--format | netsh:--format) words='text jsonl' ;;
    caprobe:--fail-on) words='info low medium high critical' ;;
    caprobe:--tls) words='1.0 1.1 1.2 1.3 1.2,1.3 1.0,1.1,1.2,1.3' ;;
    caprobe:--client-hello) words='caprobe mbedtls' ;;
    caprobe:--starttls)
        words='auto none smtp lmtp imap pop3 ftp ldap postgres mysql xmpp nntp sieve' ;;
    caprobe:--color) words='auto always never' ;;
    caprobe:--names | report:--names) words='all' ;;
    report:--targets) words='all none' ;;
    caprobe:--explain) words="all $(_caprobe_rules "${COMP_WORDS[0]}")" ;;
    caprobe:-i | caprobe:--input | caprobe:-o | caprobe:--output | caprobe:--expect-ca | \
        caprobe:--client-cert | caprobe:--client-key | caprobe:--client-key-password-file | \
        caprobe:--policy | caprobe:--baseline | caprobe:--public-roots | caprobe:--netsh | \
        report:-o | report:--output | report:--baseline | netsh:--previous | exporter:--config)
        _caprobe_files "$cur" "$pfx"
        return 0
        ;;
    caprobe:-p | caprobe:--ports | caprobe:--resolve | caprobe:--sni | caprobe:--request | \
        caprobe:-c | caprobe:--concurrency | caprobe:--timeout | caprobe:--capture-limit | \
        caprobe:--per-address | caprobe:--rate | caprobe:--connect-timeout | \
        caprobe:--handshake-timeout | caprobe:--retries | caprobe:--shard | caprobe:--max-cidr | \
        caprobe:--dns-server | caprobe:--dns-timeout | caprobe:--dns-concurrency | \
        exporter:--listen)
        return 0 # a value of the user's
        ;;
    caprobe:*)
        # a target; the commands only as the first word
        [ "$COMP_CWORD" -eq 1 ] && COMPREPLY=($(compgen -W 'report diff netsh exporter' -- "$cur"))
        return 0
        ;;
    report:* | diff:* | netsh:*)
        _caprobe_files "$cur" # scans, netsh outputs
        return 0
        ;;
    *) return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$words" -P "$pfx" -- "$cur"))
}

complete -F _caprobe caprobe
