// The Linux agent's proxy parser as emulated here must agree with the agent's own Ruby code, run by a
// real Ruby on the same lines; and the check of a proxy.conf line must say what the agent will do.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkProxyLine, linuxAgentCredentialProblems, parseLikeLinuxAgent } from '../../src/agent-config/linux-agent.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

/** ProxyUtils.parseProxyConfiguration of Microsoft/OMS-Agent-for-Linux, as the agent ships it. */
const RUBY_PARSER = `
require 'json'
def parse(proxy_conf_str)
  proxy_conf_str = proxy_conf_str.gsub(/^(https?:\\/\\/)?/, "")
  if proxy_conf_str[/^[a-z]+:\\/\\//]
    return nil
  end
  re = /^(?:(?<user>[^:]+):(?<pass>[^@]+)@)?(?<addr>[^:@]+)(?::(?<port>\\d+))?$/
  matches = re.match(proxy_conf_str)
  if matches.nil? or matches[:addr].nil?
    return nil
  end
  Hash[ matches.names.map{ |name| name.to_sym}.zip( matches.captures ) ]
end
lines = JSON.parse(STDIN.read)
puts JSON.generate(lines.map { |line| parse(line) })
`;

const LINES: readonly string[] = [
  'http://gw.example.net:8080',
  'https://gw.example.net:8080',
  'gw.example.net:8080',
  'gw.example.net',
  'http://agent:secret@gw.example.net:8080',
  'http://agent:p@ss@gw.example.net:8080',
  'http://ag:ent:secret@gw.example.net:8080',
  'http://agent:pa:ss@gw.example.net:8080',
  'http://agent:p%40ss@gw.example.net:8080',
  'socks5://gw.example.net:1080',
  'HTTP://gw.example.net:8080',
  'http://[2001:db8::1]:8080',
  'http://10.0.0.5:8080',
  'http://gw.example.net:8080/',
  'http://gw.example.net:8080\n',
  'http://gw.example.net:8080\r\n',
  'junk\nhttp://gw.example.net:8080',
  ' http://gw.example.net:8080',
  'http://gw example:8080',
  'http://gw.example.net:99999',
  '',
  'http://',
];

describe('parseLikeLinuxAgent', () => {
  test('agrees with the agent\'s Ruby parser on every line of the table', async () => {
    requireCommand('ruby');
    const result = await runRuby(RUBY_PARSER, JSON.stringify(LINES));
    assert.equal(result.code, 0, result.stderr);
    const fromRuby = JSON.parse(result.stdout) as (Record<string, string | null> | null)[];
    LINES.forEach((line, index) => {
      const ruby = fromRuby[index];
      const ours = parseLikeLinuxAgent(line);
      const expected = ruby === null || ruby === undefined ? undefined : { user: ruby.user ?? undefined, pass: ruby.pass ?? undefined, addr: ruby.addr ?? '', port: ruby.port ?? undefined };
      assert.deepEqual(ours, expected, `line ${JSON.stringify(line)}`);
    });
  });
});

async function runRuby(script: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // runCommand closes standard input; the lines go in as an argument instead.
  return runCommand('ruby', ['-e', script.replace('STDIN.read', 'ARGV[0]'), input]);
}

describe('checkProxyLine', () => {
  const cases: readonly { line: string; usable: boolean; problem?: RegExp; verdict?: RegExp }[] = [
    { line: 'http://gw.example.net:8080', usable: true, verdict: /CONNECT to gw\.example\.net:8080 without credentials/ },
    { line: 'http://agent:secret@gw.example.net:8080', usable: true, verdict: /as user "agent" with a password of 6 characters/ },
    { line: 'http://gw.example.net:8080\n', usable: false, problem: /ends with a newline/ },
    { line: 'http://gw.example.net', usable: false, problem: /no port: the daemon \(Ruby\) then uses 80 and onboarding \(curl\) 1080/ },
    { line: 'http://agent:p@ss@gw.example.net:8080', usable: false, problem: /password may not contain "@"/, verdict: /NOT PARSED.*DIRECTLY/ },
    { line: 'socks5://gw.example.net:1080', usable: false, verdict: /NOT PARSED/ },
    { line: 'HTTP://gw.example.net:8080', usable: false, problem: /lower case/ },
    { line: 'https://gw.example.net:8080', usable: false, problem: /https:\/\/ makes onboarding/ },
    { line: 'http://[2001:db8::1]:8080', usable: false, problem: /IPv6/ },
    { line: 'http://agent:p%40ss@gw.example.net:8080', usable: false, problem: /"%" is decoded by onboarding/ },
    { line: 'http://gw.example.net:8080/', usable: false, verdict: /NOT PARSED/ },
  ];
  for (const { line, usable, problem, verdict } of cases) {
    test(JSON.stringify(line), () => {
      const check = checkProxyLine(line);
      assert.equal(check.usable, usable, JSON.stringify(check));
      if (problem !== undefined) assert.ok(check.problems.some((p) => problem.test(p)), JSON.stringify(check.problems));
      if (verdict !== undefined) assert.match(check.verdict, verdict);
      assert.ok(!JSON.stringify(check).includes('secret'), 'the password was echoed');
    });
  }
});

describe('linuxAgentCredentialProblems', () => {
  test('a plain user and password have none', () => {
    assert.deepEqual(linuxAgentCredentialProblems('agent', 'S3cret-pass'), []);
  });
  test('"@" and "%" in a password and ":" in a name are named', () => {
    assert.match(linuxAgentCredentialProblems('agent', 'a@b').join('\n'), /cannot use a password that contains "@"/);
    assert.match(linuxAgentCredentialProblems('agent', 'a%41').join('\n'), /URL-decodes "%"/);
    assert.match(linuxAgentCredentialProblems('a:b', 'x').join('\n'), /user name that contains ":"/);
    assert.match(linuxAgentCredentialProblems('agent', 'with space').join('\n'), /spaces/);
  });
});
